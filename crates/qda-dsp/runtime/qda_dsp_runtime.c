/*
 * The DSP runtime library skels link against at load time: the HAP_* entry
 * points a Hexagon skel calls (FARF's HAP_debug_v2, HAP_perf_*, HAP_malloc,
 * HAP_mmap_get/put, adsp_mmap_fd_getinfo), and qda_dsp_reverse_invoke, a
 * call to the client process's listener (reverse RPC). Written for qda from the SDK's
 * documented signatures; no SDK source text.
 *
 * This file only formats and forwards: what a call means (the calling PD's
 * fd table, where FARF lines go) is decided by qda-dsp in Rust, which hands
 * the library its callbacks once with qda_dsp_runtime_bind(). Until then
 * every call that needs the host fails with AEE_EUNSUPPORTED (or does
 * nothing, for logging).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define QDA_EXPORT __attribute__((visibility("default")))

#define AEE_EOFFSET 0x80000400u
#define AEE_SUCCESS 0
#define AEE_ENOMEMORY ((int)(AEE_EOFFSET + 0x002))
#define AEE_EBADCLASS ((int)(AEE_EOFFSET + 0x00A))
#define AEE_EBADPARM ((int)(AEE_EOFFSET + 0x00E))
#define AEE_EUNSUPPORTED ((int)(AEE_EOFFSET + 0x014))

/* The callbacks the host binds; layout shared with src/runtime.rs. */
struct qda_dsp_runtime_ops {
    uint32_t version;
    uint32_t size;
    void (*log)(int level, const char *file, int line, const char *msg);
    int (*mmap_get)(int fd, void **vaddr, uint64_t *paddr);
    int (*mmap_put)(int fd);
    int (*fd_getinfo)(int fd, uint32_t *len);
    int (*put_addr)(const void *addr);
    int (*reverse_invoke)(uint32_t handle, uint32_t sc, void *pra);
};

#define QDA_DSP_RUNTIME_VERSION 2u

static const struct qda_dsp_runtime_ops *ops;

/* Bind the host's callbacks: 0, or -1 for a table of another version. */
QDA_EXPORT int qda_dsp_runtime_bind(const struct qda_dsp_runtime_ops *o) {
    if (!o || o->version != QDA_DSP_RUNTIME_VERSION || o->size < sizeof(*o))
        return -1;
    __atomic_store_n(&ops, o, __ATOMIC_RELEASE);
    return 0;
}

static const struct qda_dsp_runtime_ops *bound(void) {
    return __atomic_load_n(&ops, __ATOMIC_ACQUIRE);
}

/* ---- HAP_debug.h / FARF ---- */

/* A FARF line, formatted here (the host never sees a format string); a
 * line longer than 1023 bytes is cut there. */
static void vlog(int level, const char *file, int line, const char *fmt, va_list ap) {
    const struct qda_dsp_runtime_ops *o = bound();
    char msg[1024];
    if (!o || !o->log)
        return;
    if (!fmt)
        fmt = "(null format)";
    vsnprintf(msg, sizeof msg, fmt, ap);
    o->log(level, file, line, msg);
}

QDA_EXPORT void HAP_debug_v2(int level, const char *file, int line, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    vlog(level, file, line, format, ap);
    va_end(ap);
}

/* Run-time FARF levels: the level carries HAP_LEVEL_RUNTIME (1 << 5) when
 * it reaches the host, which decides whether run-time levels are on. */
QDA_EXPORT void HAP_debug_runtime(int level, const char *file, int line, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    vlog(level | (1 << 5), file, line, format, ap);
    va_end(ap);
}

QDA_EXPORT void HAP_debug(const char *msg, int level, const char *file, int line) {
    const struct qda_dsp_runtime_ops *o = bound();
    if (o && o->log)
        o->log(level, file, line, msg ? msg : "(null)");
}

/* ---- HAP_perf.h ----
 * Time is CLOCK_MONOTONIC. The qtimer is the SDK's 19.2 MHz global counter,
 * derived from it; "processor cycles" are a nominal 1 GHz clock over it
 * (one cycle per nanosecond): there is no Hexagon core to count. */
static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

QDA_EXPORT uint64_t HAP_perf_get_time_us(void) { return mono_ns() / 1000u; }

QDA_EXPORT uint64_t HAP_perf_get_qtimer_count(void) {
    uint64_t ns = mono_ns();
    /* 19.2 ticks per microsecond: ns * 192 / 10000, without overflow. */
    return (ns / 10000u) * 192u + (ns % 10000u) * 192u / 10000u;
}

QDA_EXPORT uint64_t HAP_perf_qtimer_count_to_us(uint64_t count) {
    return (count / 192u) * 10u + (count % 192u) * 10u / 192u;
}

QDA_EXPORT uint64_t HAP_perf_get_pcycles(void) { return mono_ns(); }

QDA_EXPORT int HAP_timer_sleep(unsigned long long us) {
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return 0;
}

/* ---- HAP_mem.h ---- */

int adsp_mmap_fd_getinfo(int fd, uint32_t *len);

QDA_EXPORT int HAP_malloc(uint32_t bytes, void **pptr) {
    if (!pptr)
        return AEE_EBADPARM;
    *pptr = malloc(bytes ? bytes : 1);
    return *pptr ? AEE_SUCCESS : AEE_ENOMEMORY;
}

QDA_EXPORT int HAP_free(void *ptr) {
    if (!ptr)
        return AEE_EBADCLASS;
    free(ptr);
    return AEE_SUCCESS;
}

QDA_EXPORT int HAP_mmap_get(int fd, void **vaddr, uint64_t *paddr) {
    const struct qda_dsp_runtime_ops *o = bound();
    return o && o->mmap_get ? o->mmap_get(fd, vaddr, paddr) : AEE_EUNSUPPORTED;
}

QDA_EXPORT int HAP_mmap_put(int fd) {
    const struct qda_dsp_runtime_ops *o = bound();
    return o && o->mmap_put ? o->mmap_put(fd) : AEE_EUNSUPPORTED;
}

/* HAP_mmap: the buffer of an fd the PD knows, from `offset`, one reference
 * more (what HAP_mmap_get takes); (void *)-1 on failure. qda maps every
 * buffer whole and read-write already: `addr`, `prot` and `flags` are not
 * used (a fixed address is not supported, as on the DSP). */
QDA_EXPORT void *HAP_mmap2(void *addr, size_t len, int prot, int flags, int fd, long offset) {
    void *va = 0;
    uint32_t size = 0;
    (void)prot, (void)flags;
    if (addr || offset < 0 || HAP_mmap_get(fd, &va, 0) != 0)
        return (void *)-1;
    if (adsp_mmap_fd_getinfo(fd, &size) != 0 || (uint64_t)offset + len > size) {
        HAP_mmap_put(fd);
        return (void *)-1;
    }
    return (char *)va + offset;
}

QDA_EXPORT void *HAP_mmap(void *addr, int len, int prot, int flags, int fd, long offset) {
    if (len < 0)
        return (void *)-1;
    return HAP_mmap2(addr, (size_t)len, prot, flags, fd, offset);
}

/* HAP_munmap: the reference HAP_mmap took on the buffer `addr` lies in. */
QDA_EXPORT int HAP_munmap2(void *addr, size_t len) {
    const struct qda_dsp_runtime_ops *o = bound();
    (void)len;
    return o && o->put_addr ? o->put_addr(addr) : AEE_EUNSUPPORTED;
}

QDA_EXPORT int HAP_munmap(void *addr, int len) { return HAP_munmap2(addr, len < 0 ? 0 : (size_t)len); }

/* What qaic-generated skels declare for dmahandle arguments. */
QDA_EXPORT int adsp_mmap_fd_getinfo(int fd, uint32_t *len) {
    const struct qda_dsp_runtime_ops *o = bound();
    return o && o->fd_getinfo ? o->fd_getinfo(fd, len) : AEE_EUNSUPPORTED;
}

/* ---- reverse RPC ----
 * A call from the DSP to its client process, served there by the listener:
 * `handle` is a CPU-side handle (0 is apps_remotectl; others come from its
 * open), `pra` one remote_arg per buffer of `sc` (inputs, then outputs; no
 * handles). Outputs are filled with at most their nLen bytes, and an
 * output's nLen is set to what the CPU returned. Blocks until the answer,
 * the process's exit or a timeout. */
QDA_EXPORT int qda_dsp_reverse_invoke(uint32_t handle, uint32_t sc, void *pra) {
    const struct qda_dsp_runtime_ops *o = bound();
    return o && o->reverse_invoke ? o->reverse_invoke(handle, sc, pra) : AEE_EUNSUPPORTED;
}
