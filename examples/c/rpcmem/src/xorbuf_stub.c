/*
 * xorbuf_stub.c: the CPU side of xorbuf.idl, as qaic generates it. The
 * sequences travel as buffers of their own: when the application passes
 * memory from rpcmem_alloc, the library hands the DSP the buffer itself
 * (by its file descriptor) and nothing is copied.
 */
#include <stdint.h>
#include <string.h>

#include "AEEStdErr.h"
#include "remote.h"
#include "xorbuf.h"

__QAIC_HEADER_EXPORT int __QAIC_HEADER(xorbuf_open)(const char *uri, remote_handle64 *h) __QAIC_HEADER_ATTRIBUTE {
    return remote_handle64_open(uri, h);
}

__QAIC_HEADER_EXPORT int __QAIC_HEADER(xorbuf_close)(remote_handle64 h) __QAIC_HEADER_ATTRIBUTE {
    return remote_handle64_close(h);
}

__QAIC_HEADER_EXPORT int __QAIC_HEADER(xorbuf_apply)(remote_handle64 _h, const uint8 *src, int srcLen, uint8 key,
                                                     uint8 *dst, int dstLen) __QAIC_HEADER_ATTRIBUTE {
    remote_arg pra[3];
    uint32_t primIn[3];
    if (srcLen < 0 || dstLen < 0 || (srcLen && !src) || (dstLen && !dst))
        return AEE_EBADPARM;
    primIn[0] = (uint32_t)srcLen;
    primIn[1] = key;
    primIn[2] = (uint32_t)dstLen;
    pra[0].buf.pv = primIn;
    pra[0].buf.nLen = sizeof primIn;
    pra[1].buf.pv = (void *)src;
    pra[1].buf.nLen = (size_t)srcLen;
    pra[2].buf.pv = dst;
    pra[2].buf.nLen = (size_t)dstLen;
    return remote_handle64_invoke(_h, REMOTE_SCALARS_MAKEX(0, 2, 2, 1, 0, 0), pra);
}
