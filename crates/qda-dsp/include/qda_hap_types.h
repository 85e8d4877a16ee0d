/*
 * qda: the integer types the HAP_* headers use (uint32, uint64, ...).
 * They come from AEEStdDef.h when it is on the include path, otherwise
 * from <stdint.h> here. Written for qda.
 */
#ifndef QDA_HAP_TYPES_H
#define QDA_HAP_TYPES_H

#if defined(__has_include)
#if __has_include("AEEStdDef.h")
#include "AEEStdDef.h"
#define QDA_HAP_HAVE_AEESTDDEF 1
#endif
#endif

#ifndef QDA_HAP_HAVE_AEESTDDEF
#include <stdint.h>
#ifndef _UINT32_DEFINED
typedef uint32_t uint32;
#define _UINT32_DEFINED
#endif
#ifndef _UINT64_DEFINED
typedef uint64_t uint64;
#define _UINT64_DEFINED
#endif
#endif

#endif /* QDA_HAP_TYPES_H */
