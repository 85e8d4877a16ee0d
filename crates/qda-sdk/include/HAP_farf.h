/*
 * qda DSP runtime: FARF(level, format, ...), the skel's printf. Written for
 * qda; the macro names, levels and defaults follow the Hexagon SDK's
 * HAP_farf.h:
 *
 *   FARF(ALWAYS, ...)  compiled in unless FARF_ALWAYS is 0 (logs at HIGH);
 *   FARF(LOW|MEDIUM|HIGH|ERROR|FATAL, ...)  compiled in only when
 *       FARF_<LEVEL> is defined to 1 (defining _DEBUG turns on HIGH, ERROR
 *       and FATAL); otherwise the statement compiles to nothing;
 *   FARF(RUNTIME_<LEVEL>, ...)  always compiled in, logged only when run-time
 *       FARF is on (qda: QDA_FARF_RUNTIME=1 in the DSP's environment).
 *
 * Custom levels work as in the SDK: #define FARF_MINE 1 and
 * #define FARF_MINE_LEVEL HAP_LEVEL_LOW, then FARF(MINE, ...).
 */
#ifndef HAP_FARF_H
#define HAP_FARF_H

#include "HAP_debug.h"

#ifdef _DEBUG
#ifndef FARF_HIGH
#define FARF_HIGH 1
#endif
#ifndef FARF_ERROR
#define FARF_ERROR 1
#endif
#ifndef FARF_FATAL
#define FARF_FATAL 1
#endif
#endif

#ifndef FARF_ALWAYS
#define FARF_ALWAYS 1
#endif
#ifndef FARF_LOW
#define FARF_LOW 0
#endif
#ifndef FARF_MEDIUM
#define FARF_MEDIUM 0
#endif
#ifndef FARF_HIGH
#define FARF_HIGH 0
#endif
#ifndef FARF_ERROR
#define FARF_ERROR 0
#endif
#ifndef FARF_FATAL
#define FARF_FATAL 0
#endif

#define FARF_ALWAYS_LEVEL HAP_LEVEL_HIGH
#define FARF_LOW_LEVEL HAP_LEVEL_LOW
#define FARF_MEDIUM_LEVEL HAP_LEVEL_MEDIUM
#define FARF_HIGH_LEVEL HAP_LEVEL_HIGH
#define FARF_ERROR_LEVEL HAP_LEVEL_ERROR
#define FARF_FATAL_LEVEL HAP_LEVEL_FATAL

#ifndef FARF_RUNTIME_LOW
#define FARF_RUNTIME_LOW 1
#endif
#ifndef FARF_RUNTIME_MEDIUM
#define FARF_RUNTIME_MEDIUM 1
#endif
#ifndef FARF_RUNTIME_HIGH
#define FARF_RUNTIME_HIGH 1
#endif
#ifndef FARF_RUNTIME_ERROR
#define FARF_RUNTIME_ERROR 1
#endif
#ifndef FARF_RUNTIME_FATAL
#define FARF_RUNTIME_FATAL 1
#endif
#define FARF_RUNTIME_LOW_LEVEL (HAP_LEVEL_RUNTIME | HAP_LEVEL_LOW)
#define FARF_RUNTIME_MEDIUM_LEVEL (HAP_LEVEL_RUNTIME | HAP_LEVEL_MEDIUM)
#define FARF_RUNTIME_HIGH_LEVEL (HAP_LEVEL_RUNTIME | HAP_LEVEL_HIGH)
#define FARF_RUNTIME_ERROR_LEVEL (HAP_LEVEL_RUNTIME | HAP_LEVEL_ERROR)
#define FARF_RUNTIME_FATAL_LEVEL (HAP_LEVEL_RUNTIME | HAP_LEVEL_FATAL)

#ifndef __FILENAME__
#define __FILENAME__ __FILE__
#endif

/* FARF(x, ...) expands to _QDA_FARF_1 or _QDA_FARF_0 by the value of FARF_x. */
#define _QDA_FARF_CAT(a, b) _QDA_FARF_CAT_(a, b)
#define _QDA_FARF_CAT_(a, b) a##b
#define FARF(x, ...) _QDA_FARF_CAT(_QDA_FARF_, FARF_##x)(x, __VA_ARGS__)

#define _QDA_FARF_0(x, ...) \
    do {                    \
    } while (0)

#define _QDA_FARF_1(x, ...)                                                                     \
    do {                                                                                        \
        if ((FARF_##x##_LEVEL) & HAP_LEVEL_RUNTIME) {                                           \
            if (HAP_debug_runtime)                                                              \
                HAP_debug_runtime((FARF_##x##_LEVEL) ^ HAP_LEVEL_RUNTIME, __FILENAME__, __LINE__, \
                                  __VA_ARGS__);                                                 \
        } else if (HAP_debug_v2) {                                                              \
            HAP_debug_v2((FARF_##x##_LEVEL), __FILENAME__, __LINE__, __VA_ARGS__);              \
        }                                                                                       \
    } while (0)

#endif /* HAP_FARF_H */
