/* rpcmem.h: memory an application shares with a DSP (qda SDK).
 *
 * Facts: qualcomm/fastrpc inc/rpcmem.h @ 29851fde11d4 (the same on the
 * main, development, glymur, fastrpc-lite and accel/staging branches of the
 * mirror; rpcmem_alloc2 is on all of them).
 *
 * rpcmem_alloc returns a CPU pointer to a dma-buf backed buffer; passing such
 * a pointer in a FastRPC call hands the DSP the buffer itself instead of a
 * copy. rpcmem_to_fd gives its file descriptor (for fastrpc_mmap and friends).
 */
#ifndef RPCMEM_H
#define RPCMEM_H

#include <stddef.h>
#include <stdint.h>

/* ---- heaps ---- */

/* Where a buffer comes from (the heapid argument). */
enum rpc_heap_ids {
    RPCMEM_HEAP_ID_SECURE = 9,  /* content-protected memory */
    RPCMEM_HEAP_ID_CONTIG = 22, /* physically contiguous memory */
    RPCMEM_HEAP_ID_SYSTEM = 25  /* ordinary system memory: the usual choice */
};

/* "Any heap": let the library choose. */
#define RPCMEM_DEFAULT_HEAP -1

/* ---- flags (the flags argument) ---- */

/* Cached CPU mapping; ION_FLAG_CACHED where an ION header is in scope. */
#ifdef ION_FLAG_CACHED
#define RPCMEM_DEFAULT_FLAGS ION_FLAG_CACHED
#else
#define RPCMEM_DEFAULT_FLAGS 1
#endif

#define RPCMEM_FLAG_UNCACHED 0
#define RPCMEM_FLAG_CACHED RPCMEM_DEFAULT_FLAGS

/* Map the buffer into every current and later session up front, so calls
 * that use it skip the mapping; a failure to map is ignored. */
#define RPCMEM_TRY_MAP_STATIC 0x04000000

/* Older flag bits, kept for source compatibility; upstream documents no more
 * than their names. */
#define RPCMEM_HEAP_DEFAULT 0x80000000
#define RPCMEM_HEAP_NOREG 0x40000000
#define RPCMEM_HEAP_UNCACHED 0x20000000
#define RPCMEM_HEAP_NOVA 0x10000000
#define RPCMEM_HEAP_NONCOHERENT 0x08000000
#define RPCMEM_FORCE_NOFLUSH 0x01000000
#define RPCMEM_FORCE_NOINVALIDATE 0x02000000

/* ION flag pair for secure allocations (bits 31 and 19), as an int. */
#define ION_SECURE_FLAGS ((int)(1u << 31 | 1u << 19))

#ifdef __cplusplus
extern "C" {
#endif

/* ---- functions ---- */

/* Set up / tear down the allocator. Calling them is optional. */
void rpcmem_init(void);
void rpcmem_deinit(void);

/* A buffer of size bytes (less than 2 GB) from heap heapid, or NULL. */
void *rpcmem_alloc(int heapid, uint32_t flags, int size);

/* The same with a size_t size, for buffers of 2 GB and more. */
void *rpcmem_alloc2(int heapid, uint32_t flags, size_t size);

/* Free a buffer from rpcmem_alloc or rpcmem_alloc2. */
void rpcmem_free(void *po);

/* The dma-buf fd behind a buffer, or -1 when po is not one of ours. */
int rpcmem_to_fd(void *po);

/* rpcmem_alloc from the system heap with the default flags. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static inline void *rpcmem_alloc_def(int size)
{
    return rpcmem_alloc(RPCMEM_HEAP_ID_SYSTEM, RPCMEM_DEFAULT_FLAGS, size);
}

#ifdef __cplusplus
}
#endif

#endif /* RPCMEM_H */
