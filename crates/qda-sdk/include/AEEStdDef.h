/* AEEStdDef.h: the basic types qaic-generated stubs and skels are written in
 * (qda SDK).
 *
 * Facts: qualcomm/fastrpc inc/AEEStdDef.h @ 29851fde11d4 (AEE* ids, AECHAR,
 * AEEResult, CDECL, the AECHAR bounds, the string helpers, _wchar_t and the
 * qaic string structs) and the same file before commit c5bc6b80b2ca
 * ("drop poor man's stdint/stdbool", i.e. at b24ec80) for the short integer
 * names, boolean, byte, TRUE/FALSE and the MIN_/MAX_ bounds, which older
 * generated code still uses.
 *
 * Each type sits behind its _<NAME>_DEFINED guard so that another header that
 * already made it (Qualcomm's comdef.h, a Hexagon SDK header) wins.
 */
#ifndef AEESTDDEF_H
#define AEESTDDEF_H

#include <stdint.h>

/* comdef.h makes the short integer names itself. */
#if defined(COMDEF_H)
#define _BOOLEAN_DEFINED
#define _UINT32_DEFINED
#define _UINT16_DEFINED
#define _UINT8_DEFINED
#define _INT32_DEFINED
#define _INT16_DEFINED
#define _INT8_DEFINED
#define _UINT64_DEFINED
#define _INT64_DEFINED
#define _BYTE_DEFINED
#endif

/* ---- short integer names ---- */

#ifndef _BOOLEAN_DEFINED
#define _BOOLEAN_DEFINED
typedef unsigned char boolean; /* 0 or 1, one byte */
#endif
#ifndef _UINT8_DEFINED
#define _UINT8_DEFINED
typedef unsigned char uint8;
#endif
#ifndef _INT8_DEFINED
#define _INT8_DEFINED
typedef signed char int8;
#endif
#ifndef _UINT16_DEFINED
#define _UINT16_DEFINED
typedef unsigned short uint16;
#endif
#ifndef _INT16_DEFINED
#define _INT16_DEFINED
typedef signed short int16;
#endif
#ifndef _UINT32_DEFINED
#define _UINT32_DEFINED
typedef uint32_t uint32;
#endif
#ifndef _INT32_DEFINED
#define _INT32_DEFINED
typedef int32_t int32;
#endif
#ifndef _UINT64_DEFINED
#define _UINT64_DEFINED
typedef unsigned long long uint64;
#endif
#ifndef _INT64_DEFINED
#define _INT64_DEFINED
typedef long long int64;
#endif
#ifndef _BYTE_DEFINED
#define _BYTE_DEFINED
typedef unsigned char byte;
#endif

/* ---- AEE identifiers and results ---- */

#ifndef _AEEUID_DEFINED
#define _AEEUID_DEFINED
typedef uint32_t AEEUID; /* unique id */
#endif
#ifndef _AEEIID_DEFINED
#define _AEEIID_DEFINED
typedef uint32_t AEEIID; /* interface id */
#endif
#ifndef _AEECLSID_DEFINED
#define _AEECLSID_DEFINED
typedef uint32_t AEECLSID; /* class id */
#endif
#ifndef _AEEPRIVID_DEFINED
#define _AEEPRIVID_DEFINED
typedef uint32_t AEEPRIVID; /* privilege id */
#endif
#ifndef _AECHAR_DEFINED
#define _AECHAR_DEFINED
typedef uint16_t AECHAR; /* one UTF-16 code unit */
#endif
#ifndef _AEERESULT_DEFINED
#define _AEERESULT_DEFINED
typedef int AEEResult; /* AEE_SUCCESS or an AEEStdErr.h code */
#endif

/* Calling-convention marker; empty outside MSVC. */
#ifndef CDECL
#ifdef _MSC_VER
#define CDECL __cdecl
#else
#define CDECL
#endif
#endif

/* ---- truth values and bounds ---- */

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

#ifndef MIN_INT8
#define MIN_INT8 -128
#endif
#ifndef MAX_INT8
#define MAX_INT8 127
#endif
#ifndef MAX_UINT8
#define MAX_UINT8 255
#endif
#ifndef MIN_INT16
#define MIN_INT16 -32768
#endif
#ifndef MAX_INT16
#define MAX_INT16 32767
#endif
#ifndef MAX_UINT16
#define MAX_UINT16 65535
#endif
#ifndef MIN_INT32
#define MIN_INT32 (~0x7fffffff)
#endif
#ifndef MAX_INT32
#define MAX_INT32 2147483647
#endif
#ifndef MAX_UINT32
#define MAX_UINT32 4294967295u
#endif
#ifndef MIN_INT64
#define MIN_INT64 (~0x7fffffffffffffffLL)
#endif
#ifndef MAX_INT64
#define MAX_INT64 9223372036854775807LL
#endif
#ifndef MAX_UINT64
#define MAX_UINT64 18446744073709551615uLL
#endif
#ifndef MIN_AECHAR
#define MIN_AECHAR 0
#endif
#ifndef MAX_AECHAR
#define MAX_AECHAR 65535
#endif

/* ---- helpers ---- */

/* Turn a macro argument, or its expansion, into a string literal. */
#define __STR__(x) #x
#define __TOSTR__(x) __STR__(x)
/* "file.c:123" for the line it is used on. */
#define __FILE_LINE__ __FILE__ ":" __TOSTR__(__LINE__)

/* ---- what qaic generates for IDL strings ---- */

#ifndef __QIDL_WCHAR_T_DEFINED__
#define __QIDL_WCHAR_T_DEFINED__
typedef uint16_t _wchar_t; /* IDL wchar: UTF-16 */
#endif

#if !defined(__QIDL_STRING_OBJECT_DEFINED__) && !defined(__STRING_OBJECT__)
#define __QIDL_STRING_OBJECT_DEFINED__
#define __STRING_OBJECT__
/* An element of an IDL sequence<string>: buffer, its capacity in chars
 * including the NUL, and the length the callee needed. */
typedef struct _cstring_s {
    char *data;
    int dataLen;
    int dataLenReq;
} _cstring_t;
/* The same for sequence<wstring>, counted in _wchar_t. */
typedef struct _wstring_s {
    _wchar_t *data;
    int dataLen;
    int dataLenReq;
} _wstring_t;
#endif

#endif /* AEESTDDEF_H */
