/*
 * dmasum_stub.c: the CPU side of dmasum.idl, as qaic generates it. A
 * dmahandle goes as a handle argument {fd, offset}, after the buffers; the
 * stub first registers the fd with its length (remote_register_dma_handle),
 * and the length also rides in the primary input buffer.
 */
#include <stdint.h>
#include <string.h>

#include "AEEStdErr.h"
#include "dmasum.h"
#include "remote.h"

__QAIC_HEADER_EXPORT int __QAIC_HEADER(dmasum_open)(const char *uri, remote_handle64 *h) __QAIC_HEADER_ATTRIBUTE {
    return remote_handle64_open(uri, h);
}

__QAIC_HEADER_EXPORT int __QAIC_HEADER(dmasum_close)(remote_handle64 h) __QAIC_HEADER_ATTRIBUTE {
    return remote_handle64_close(h);
}

__QAIC_HEADER_EXPORT int __QAIC_HEADER(dmasum_sum)(remote_handle64 _h, int buf_fd, uint32 buf_offset, uint32 buf_len,
                                                   uint64 *total) __QAIC_HEADER_ATTRIBUTE {
    remote_arg pra[3];
    uint32_t primIn[1];
    uint64_t primOut[1] = {0};
    int err;
    if (buf_fd < 0 || total == NULL)
        return AEE_EBADPARM;
    if ((err = remote_register_dma_handle(buf_fd, buf_len)) != AEE_SUCCESS)
        return err;
    primIn[0] = buf_len;
    pra[0].buf.pv = primIn;
    pra[0].buf.nLen = sizeof primIn;
    pra[1].buf.pv = primOut;
    pra[1].buf.nLen = sizeof primOut;
    pra[2].dma.fd = buf_fd;
    pra[2].dma.offset = buf_offset;
    err = remote_handle64_invoke(_h, REMOTE_SCALARS_MAKEX(0, 2, 1, 1, 1, 0), pra);
    if (err == AEE_SUCCESS)
        *total = primOut[0];
    return err;
}
