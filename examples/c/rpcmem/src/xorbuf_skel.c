/*
 * xorbuf_skel.c: the DSP side of xorbuf.idl (skel and implementation).
 * The DSP writes its result straight into the caller's output buffer.
 */
#include <stdint.h>
#include <string.h>

#include "AEEStdErr.h"
#include "HAP_farf.h"
#include "remote.h"
#include "xorbuf.h"

static int xorbuf_apply_imp(const uint8 *src, uint32_t srcLen, uint8 key, uint8 *dst, uint32_t dstLen) {
    if (dstLen != srcLen)
        return AEE_EBADPARM;
    for (uint32_t i = 0; i < srcLen; i++)
        dst[i] = src[i] ^ key;
    FARF(ALWAYS, "xorbuf_apply: %u bytes, key 0x%02x", srcLen, key);
    return AEE_SUCCESS;
}

__QAIC_IMPL_EXPORT int xorbuf_skel_handle_invoke(remote_handle64 h, uint32_t sc, remote_arg *pra) {
    uint32_t primIn[3];
    (void)h;
    switch (REMOTE_SCALARS_METHOD(sc)) {
    case 0: /* open: any URI; one handle value serves all */
        if (sc != REMOTE_SCALARS_MAKEX(0, 0, 2, 0, 0, 1))
            return AEE_EBADPARM;
        pra[2].h64 = 1;
        return AEE_SUCCESS;
    case 1: /* close */
        return sc == REMOTE_SCALARS_MAKEX(0, 1, 0, 0, 1, 0) ? AEE_SUCCESS : AEE_EBADPARM;
    case 2: /* apply: in {srcLen, key, dstLen}, in src, out dst */
        if (sc != REMOTE_SCALARS_MAKEX(0, 2, 2, 1, 0, 0) || pra[0].buf.nLen < sizeof primIn)
            return AEE_EBADPARM;
        memcpy(primIn, pra[0].buf.pv, sizeof primIn);
        if (pra[1].buf.nLen < primIn[0] || pra[2].buf.nLen < primIn[2] || primIn[1] > 0xff)
            return AEE_EBADPARM;
        return xorbuf_apply_imp((const uint8 *)pra[1].buf.pv, primIn[0], (uint8)primIn[1], (uint8 *)pra[2].buf.pv,
                                primIn[2]);
    default:
        return AEE_EUNSUPPORTED;
    }
}
