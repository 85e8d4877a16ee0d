/*
 * hello_skel.c: the DSP side of hello.idl, as qaic generates it, with the
 * implementation in the same file: a greeting FARFed at several levels and
 * timed with HAP_perf_get_time_us().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "AEEStdErr.h"
#include "HAP_farf.h"
#include "HAP_perf.h"
#include "hello.h"
#include "remote.h"

/* --- implementation --- */

int hello_open(const char *uri, remote_handle64 *h) {
    static int opened;
    (void)uri;
    *h = (remote_handle64)(++opened);
    FARF(ALWAYS, "hello_open: handle %d", opened);
    return AEE_SUCCESS;
}

int hello_close(remote_handle64 h) {
    FARF(ALWAYS, "hello_close: handle %d", (int)h);
    return AEE_SUCCESS;
}

int hello_greet(remote_handle64 h, const char *name, int64 *dsp_us) {
    uint64 t0 = HAP_perf_get_time_us(), t1, t2;
    (void)h;
    FARF(ALWAYS, "hello, %s (from the DSP)", name);
    /* Compiled in only with -DFARF_HIGH=1 (or -D_DEBUG). */
    FARF(HIGH, "hello at HIGH level, %s", name);
    /* Compiled in, printed only when run-time FARF is on. */
    FARF(RUNTIME_HIGH, "hello at run-time HIGH level, %s", name);
    t1 = HAP_perf_get_time_us();
    HAP_timer_sleep(2000); /* a stand-in for 2 ms of work */
    t2 = HAP_perf_get_time_us();
    FARF(ALWAYS, "hello: logging took %llu us, the work %llu us", (unsigned long long)(t1 - t0),
         (unsigned long long)(t2 - t1));
    *dsp_us = (int64)(t2 - t0);
    return AEE_SUCCESS;
}

/* --- skel --- */

__QAIC_IMPL_EXPORT int hello_skel_handle_invoke(remote_handle64 h, uint32_t sc, remote_arg *pra) {
    uint32_t len;
    switch (REMOTE_SCALARS_METHOD(sc)) {
    case 0: { /* open: in {u32 uriLen}, in uri, out handle */
        remote_handle64 nh = 0;
        int err;
        if (sc != REMOTE_SCALARS_MAKEX(0, 0, 2, 0, 0, 1) || pra[0].buf.nLen < sizeof len)
            return AEE_EBADPARM;
        memcpy(&len, pra[0].buf.pv, sizeof len);
        if (len == 0 || pra[1].buf.nLen < len || ((const char *)pra[1].buf.pv)[len - 1] != '\0')
            return AEE_EBADPARM;
        err = hello_open((const char *)pra[1].buf.pv, &nh);
        if (err == AEE_SUCCESS)
            pra[2].h64 = nh;
        return err;
    }
    case 1: /* close: in handle */
        if (sc != REMOTE_SCALARS_MAKEX(0, 1, 0, 0, 1, 0))
            return AEE_EBADPARM;
        return hello_close(pra[0].h64);
    case 2: { /* greet: in {u32 nameLen}, in name, out {int64 dsp_us} */
        int64 us = 0;
        int err;
        if (sc != REMOTE_SCALARS_MAKEX(0, 2, 2, 1, 0, 0) || pra[0].buf.nLen < sizeof len ||
            pra[2].buf.nLen < sizeof us)
            return AEE_EBADPARM;
        memcpy(&len, pra[0].buf.pv, sizeof len);
        if (len == 0 || pra[1].buf.nLen < len || ((const char *)pra[1].buf.pv)[len - 1] != '\0')
            return AEE_EBADPARM;
        err = hello_greet(h, (const char *)pra[1].buf.pv, &us);
        if (err == AEE_SUCCESS)
            memcpy(pra[2].buf.pv, &us, sizeof us);
        return err;
    }
    default:
        return AEE_EUNSUPPORTED;
    }
}
