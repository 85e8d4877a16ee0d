/* calculator.h: the interface of calculator.idl, as qaic generates it. */
#ifndef _CALCULATOR_H
#define _CALCULATOR_H

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
#ifndef __QAIC_IMPL_ATTRIBUTE
#define __QAIC_IMPL_ATTRIBUTE
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The module URI; append a domain, e.g. calculator_URI CDSP_DOMAIN. */
#define _calculator_URI_base "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0"
#define calculator_URI _calculator_URI_base "&_idlver=1.2.3"

/* Open a handle to the module named by uri (method 0). */
__QAIC_HEADER_EXPORT int __QAIC_HEADER(calculator_open)(const char *uri, remote_handle64 *h) __QAIC_HEADER_ATTRIBUTE;
/* Close it (method 1). */
__QAIC_HEADER_EXPORT int __QAIC_HEADER(calculator_close)(remote_handle64 h) __QAIC_HEADER_ATTRIBUTE;
/* Method 2: *res = the sum of vec[0..vecLen). */
__QAIC_HEADER_EXPORT int __QAIC_HEADER(calculator_sum)(remote_handle64 _h, const int *vec, int vecLen, int64 *res) __QAIC_HEADER_ATTRIBUTE;
/* Method 3: *res = the largest of vec[0..vecLen). */
__QAIC_HEADER_EXPORT int __QAIC_HEADER(calculator_max)(remote_handle64 _h, const int *vec, int vecLen, int *res) __QAIC_HEADER_ATTRIBUTE;

#ifdef __cplusplus
}
#endif
#endif /* _CALCULATOR_H */
