/*
 * calculator_stub.c: the CPU side of calculator.idl, as qaic generates it.
 * Each method packs its arguments into remote_arg buffers: the primary
 * input buffer carries the scalars and sequence lengths, each sequence
 * travels as a buffer of its own, and the primary output buffer brings the
 * rout scalars back.
 */
#include <stdint.h>
#include <string.h>

#include "AEEStdErr.h"
#include "calculator.h"
#include "remote.h"

__QAIC_HEADER_EXPORT int __QAIC_HEADER(calculator_open)(const char *uri, remote_handle64 *h) __QAIC_HEADER_ATTRIBUTE {
    return remote_handle64_open(uri, h);
}

__QAIC_HEADER_EXPORT int __QAIC_HEADER(calculator_close)(remote_handle64 h) __QAIC_HEADER_ATTRIBUTE {
    return remote_handle64_close(h);
}

/* in sequence<long> vec, rout <8 or 4 bytes> res: 2 in buffers, 1 out. */
static int _stub_vec_method(remote_handle64 h, uint32_t method, const int *vec, int vecLen, void *res,
                            size_t resLen) {
    remote_arg pra[3];
    uint32_t primIn[1];
    uint64_t primOut[1] = {0};
    int err;
    if (vecLen < 0 || (vecLen > 0 && vec == NULL) || res == NULL)
        return AEE_EBADPARM;
    primIn[0] = (uint32_t)vecLen;
    pra[0].buf.pv = primIn;
    pra[0].buf.nLen = sizeof primIn;
    pra[1].buf.pv = (void *)vec;
    pra[1].buf.nLen = (size_t)vecLen * sizeof(int);
    pra[2].buf.pv = primOut;
    pra[2].buf.nLen = resLen;
    err = remote_handle64_invoke(h, REMOTE_SCALARS_MAKEX(0, method, 2, 1, 0, 0), pra);
    if (err == AEE_SUCCESS)
        memcpy(res, primOut, resLen);
    return err;
}

__QAIC_HEADER_EXPORT int __QAIC_HEADER(calculator_sum)(remote_handle64 _h, const int *vec, int vecLen,
                                                       int64 *res) __QAIC_HEADER_ATTRIBUTE {
    return _stub_vec_method(_h, 2, vec, vecLen, res, sizeof *res);
}

__QAIC_HEADER_EXPORT int __QAIC_HEADER(calculator_max)(remote_handle64 _h, const int *vec, int vecLen,
                                                       int *res) __QAIC_HEADER_ATTRIBUTE {
    return _stub_vec_method(_h, 3, vec, vecLen, res, sizeof *res);
}
