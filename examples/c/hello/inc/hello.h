/* hello.h: the interface of hello.idl, as qaic generates it. */
#ifndef _HELLO_H
#define _HELLO_H

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
#ifndef __QAIC_IMPL
#define __QAIC_IMPL(ff) ff
#endif
#ifndef __QAIC_IMPL_EXPORT
#define __QAIC_IMPL_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define hello_URI "file:///libhello_skel.so?hello_skel_handle_invoke&_modver=1.0&_idlver=1.0.0"

__QAIC_HEADER_EXPORT int __QAIC_HEADER(hello_open)(const char *uri, remote_handle64 *h) __QAIC_HEADER_ATTRIBUTE;
__QAIC_HEADER_EXPORT int __QAIC_HEADER(hello_close)(remote_handle64 h) __QAIC_HEADER_ATTRIBUTE;
/* Method 2. */
__QAIC_HEADER_EXPORT int __QAIC_HEADER(hello_greet)(remote_handle64 _h, const char *name, int64 *dsp_us) __QAIC_HEADER_ATTRIBUTE;

#ifdef __cplusplus
}
#endif
#endif /* _HELLO_H */
