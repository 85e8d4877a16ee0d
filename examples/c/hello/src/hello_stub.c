/*
 * hello_stub.c: the CPU side of hello.idl, as qaic generates it. An `in
 * string` travels as a buffer with its NUL; its length rides in the
 * primary input buffer.
 */
#include <stdint.h>
#include <string.h>

#include "AEEStdErr.h"
#include "hello.h"
#include "remote.h"

__QAIC_HEADER_EXPORT int __QAIC_HEADER(hello_open)(const char *uri, remote_handle64 *h) __QAIC_HEADER_ATTRIBUTE {
    return remote_handle64_open(uri, h);
}

__QAIC_HEADER_EXPORT int __QAIC_HEADER(hello_close)(remote_handle64 h) __QAIC_HEADER_ATTRIBUTE {
    return remote_handle64_close(h);
}

__QAIC_HEADER_EXPORT int __QAIC_HEADER(hello_greet)(remote_handle64 _h, const char *name,
                                                    int64 *dsp_us) __QAIC_HEADER_ATTRIBUTE {
    remote_arg pra[3];
    uint32_t primIn[1];
    int64 primOut[1] = {0};
    int err;
    if (name == NULL || dsp_us == NULL)
        return AEE_EBADPARM;
    primIn[0] = (uint32_t)strlen(name) + 1;
    pra[0].buf.pv = primIn;
    pra[0].buf.nLen = sizeof primIn;
    pra[1].buf.pv = (void *)name;
    pra[1].buf.nLen = primIn[0];
    pra[2].buf.pv = primOut;
    pra[2].buf.nLen = sizeof primOut;
    err = remote_handle64_invoke(_h, REMOTE_SCALARS_MAKEX(0, 2, 2, 1, 0, 0), pra);
    if (err == AEE_SUCCESS)
        *dsp_us = primOut[0];
    return err;
}
