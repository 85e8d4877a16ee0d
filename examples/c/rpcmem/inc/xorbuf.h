/* xorbuf.h: the interface of xorbuf.idl, as qaic generates it. */
#ifndef _XORBUF_H
#define _XORBUF_H

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

#define xorbuf_URI "file:///libxorbuf_skel.so?xorbuf_skel_handle_invoke&_modver=1.0&_idlver=1.0.0"

__QAIC_HEADER_EXPORT int __QAIC_HEADER(xorbuf_open)(const char *uri, remote_handle64 *h) __QAIC_HEADER_ATTRIBUTE;
__QAIC_HEADER_EXPORT int __QAIC_HEADER(xorbuf_close)(remote_handle64 h) __QAIC_HEADER_ATTRIBUTE;
/* Method 2. */
__QAIC_HEADER_EXPORT int __QAIC_HEADER(xorbuf_apply)(remote_handle64 _h, const uint8 *src, int srcLen, uint8 key,
                                                     uint8 *dst, int dstLen) __QAIC_HEADER_ATTRIBUTE;

#ifdef __cplusplus
}
#endif
#endif /* _XORBUF_H */
