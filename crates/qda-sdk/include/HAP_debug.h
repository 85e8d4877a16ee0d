/*
 * qda DSP runtime: the logging entry points skels reach through FARF()
 * (HAP_farf.h). Written for qda; names, values and signatures follow the
 * Hexagon SDK's HAP_debug.h.
 *
 * In qda a FARF line goes to the application's stderr (thread PDs) or to
 * the DSP over the PD host's socket (process PDs), and to the `qda::trace`
 * tracing target (qdad --trace). The functions are declared weak, as in
 * the SDK: a skel loaded without the runtime logs nothing.
 */
#ifndef HAP_DEBUG_H
#define HAP_DEBUG_H

#include "AEEStdDef.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAP_LEVEL_LOW 0
#define HAP_LEVEL_MEDIUM 1
#define HAP_LEVEL_HIGH 2
#define HAP_LEVEL_ERROR 3
#define HAP_LEVEL_FATAL 4

/* Or-ed into a level: a run-time FARF (off unless enabled at run time;
 * in qda: QDA_FARF_RUNTIME=1 in the DSP's environment). */
#define HAP_LEVEL_RUNTIME (1 << 5)

/* Call these through FARF(), not directly. */
__attribute__((weak)) void HAP_debug_v2(int level, const char *file, int line, const char *format, ...);
__attribute__((weak)) void HAP_debug_runtime(int level, const char *file, int line, const char *format, ...);
__attribute__((weak)) void HAP_debug(const char *msg, int level, const char *filename, int line);

#ifdef __cplusplus
}
#endif

#endif /* HAP_DEBUG_H */
