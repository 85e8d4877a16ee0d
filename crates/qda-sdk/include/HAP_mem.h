/*
 * qda DSP runtime: heap and the buffers a call passes by fd. Written for
 * qda; names, values and signatures follow the Hexagon SDK's HAP_mem.h.
 *
 * HAP_mmap_get/HAP_mmap_put work on the fds of the handle arguments
 * (`dmahandle`) of the PD's calls: a handle's fd is known to the PD for the
 * duration of its call, and a HAP_mmap_get keeps it (mapped, at the same
 * address) past the call until the matching HAP_mmap_put. An fd the PD does
 * not know is AEE_ENOSUCHMAP; a put without a get is AEE_EBADMAPREFCNT.
 * `paddr` receives the buffer's DSP (SMMU) address.
 */
#ifndef HAP_MEM_H
#define HAP_MEM_H

#include <stddef.h>
#include "AEEStdDef.h"
#include "AEEStdErr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAP_PROT_NONE 0x00
#define HAP_PROT_READ 0x01
#define HAP_PROT_WRITE 0x02
#define HAP_PROT_EXEC 0x04

#define HAP_MEM_CACHE_WRITEBACK 0x10
#define HAP_MEM_CACHE_NON_SHARED 0x20
#define HAP_MEM_CACHE_WRITETHROUGH 0x40

/* Allocate `bytes`: AEE_SUCCESS, or AEE_ENOMEMORY (and *pptr NULL). */
int HAP_malloc(uint32 bytes, void **pptr);

/* Free what HAP_malloc gave: AEE_SUCCESS, or AEE_EBADCLASS for NULL. */
int HAP_free(void *ptr);

/* The buffer of `fd` in this PD: its address here and its DSP address
 * (`paddr` may be NULL); one more reference. */
int HAP_mmap_get(int fd, void **vaddr, uint64 *paddr);

/* One reference to the buffer of `fd` less. */
int HAP_mmap_put(int fd);

/* The buffer of `fd` from `offset` (`len` bytes must lie in it), one
 * reference more; (void *)-1 on failure. `addr` must be NULL. qda maps
 * buffers whole and read-write already: `prot` and `flags` are not used. */
void *HAP_mmap(void *addr, int len, int prot, int flags, int fd, long offset);
void *HAP_mmap2(void *addr, size_t len, int prot, int flags, int fd, long offset);

/* The reference HAP_mmap took on the buffer `addr` lies in goes. */
int HAP_munmap(void *addr, int len);
int HAP_munmap2(void *addr, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* HAP_MEM_H */
