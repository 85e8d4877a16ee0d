/*
 * calculator_skel.c: the DSP side of calculator.idl, as qaic generates it.
 * The DSP calls calculator_skel_handle_invoke for every call to the
 * module: method 0 opens a handle (in: the URI's length and the URI; out:
 * the handle), method 1 closes one, and methods 2 and 3 unpack the primary
 * buffers and call the implementation (calculator_imp.c).
 */
#include <stdint.h>
#include <string.h>

#include "AEEStdErr.h"
#include "calculator.h"
#include "remote.h"

static int _skel_open(uint32_t sc, remote_arg *pra) {
    uint32_t uriLen;
    const char *uri;
    remote_handle64 h = 0;
    int err;
    if (sc != REMOTE_SCALARS_MAKEX(0, 0, 2, 0, 0, 1) || pra[0].buf.nLen < sizeof uriLen)
        return AEE_EBADPARM;
    memcpy(&uriLen, pra[0].buf.pv, sizeof uriLen);
    uri = (const char *)pra[1].buf.pv;
    if (uriLen == 0 || pra[1].buf.nLen < uriLen || uri[uriLen - 1] != '\0')
        return AEE_EBADPARM;
    err = __QAIC_IMPL(calculator_open)(uri, &h);
    if (err == AEE_SUCCESS)
        pra[2].h64 = h;
    return err;
}

static int _skel_close(uint32_t sc, remote_arg *pra) {
    if (sc != REMOTE_SCALARS_MAKEX(0, 1, 0, 0, 1, 0))
        return AEE_EBADPARM;
    return __QAIC_IMPL(calculator_close)(pra[0].h64);
}

/* Methods 2 and 3: in0 = {u32 vecLen}, in1 = vec, out0 = the result. */
static int _skel_vec(remote_handle64 h, uint32_t sc, remote_arg *pra, uint32_t method, size_t resLen) {
    uint32_t vecLen;
    int err;
    if (sc != REMOTE_SCALARS_MAKEX(0, method, 2, 1, 0, 0) || pra[0].buf.nLen < sizeof vecLen)
        return AEE_EBADPARM;
    memcpy(&vecLen, pra[0].buf.pv, sizeof vecLen);
    if (vecLen > INT32_MAX / sizeof(int) || pra[1].buf.nLen < (size_t)vecLen * sizeof(int) ||
        pra[2].buf.nLen < resLen)
        return AEE_EBADPARM;
    if (method == 2) {
        int64 res = 0;
        err = __QAIC_IMPL(calculator_sum)(h, (const int *)pra[1].buf.pv, (int)vecLen, &res);
        if (err == AEE_SUCCESS)
            memcpy(pra[2].buf.pv, &res, sizeof res);
    } else {
        int res = 0;
        err = __QAIC_IMPL(calculator_max)(h, (const int *)pra[1].buf.pv, (int)vecLen, &res);
        if (err == AEE_SUCCESS)
            memcpy(pra[2].buf.pv, &res, sizeof res);
    }
    return err;
}

__QAIC_IMPL_EXPORT int calculator_skel_handle_invoke(remote_handle64 h, uint32_t sc, remote_arg *pra) {
    switch (REMOTE_SCALARS_METHOD(sc)) {
    case 0:
        return _skel_open(sc, pra);
    case 1:
        return _skel_close(sc, pra);
    case 2:
        return _skel_vec(h, sc, pra, 2, sizeof(int64));
    case 3:
        return _skel_vec(h, sc, pra, 3, sizeof(int));
    default:
        return AEE_EUNSUPPORTED;
    }
}
