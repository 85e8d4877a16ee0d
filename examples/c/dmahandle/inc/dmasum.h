/* dmasum.h: the interface of dmasum.idl, as qaic generates it. An `in
 * dmahandle` is a buffer's fd, the offset of the bytes in it, and their
 * length. */
#ifndef _DMASUM_H
#define _DMASUM_H

#include <AEEStdDef.h>
#include <remote.h>

#ifndef __QAIC_HEADER
#define __QAIC_HEADER(ff) ff
#endif
#ifndef __QAIC_HEADER_EXPORT
#define __QAIC_HEADER_EXPORT
#endif
#ifndef __QAIC_HEADER_ATTRIBUTE
#define __QAIC_HEADER_ATTRIBUTE
#endif
#ifndef __QAIC_IMPL_EXPORT
#define __QAIC_IMPL_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define dmasum_URI "file:///libdmasum_skel.so?dmasum_skel_handle_invoke&_modver=1.0&_idlver=1.0.0"

__QAIC_HEADER_EXPORT int __QAIC_HEADER(dmasum_open)(const char *uri, remote_handle64 *h) __QAIC_HEADER_ATTRIBUTE;
__QAIC_HEADER_EXPORT int __QAIC_HEADER(dmasum_close)(remote_handle64 h) __QAIC_HEADER_ATTRIBUTE;
/* Method 2. */
__QAIC_HEADER_EXPORT int __QAIC_HEADER(dmasum_sum)(remote_handle64 _h, int buf_fd, uint32 buf_offset, uint32 buf_len,
                                                   uint64 *total) __QAIC_HEADER_ATTRIBUTE;

#ifdef __cplusplus
}
#endif
#endif /* _DMASUM_H */
