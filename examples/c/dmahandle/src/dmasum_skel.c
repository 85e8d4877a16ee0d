/*
 * dmasum_skel.c: the DSP side of dmasum.idl (skel and implementation). The
 * dmahandle arrives as {fd, offset}; HAP_mmap_get maps the fd's buffer into
 * the DSP's address space, HAP_mmap_put lets it go.
 */
#include <stdint.h>
#include <string.h>

#include "AEEStdErr.h"
#include "HAP_farf.h"
#include "HAP_mem.h"
#include "dmasum.h"
#include "remote.h"

static int dmasum_sum_imp(int fd, uint32_t offset, uint32_t len, uint64_t *total) {
    void *va = NULL;
    uint64 pa = 0;
    uint64_t sum = 0;
    int err = HAP_mmap_get(fd, &va, &pa);
    if (err != AEE_SUCCESS) {
        FARF(ERROR, "dmasum: HAP_mmap_get(%d) failed: 0x%x", fd, (unsigned)err);
        return err;
    }
    for (uint32_t i = 0; i < len; i++)
        sum += ((const uint8_t *)va)[offset + i];
    FARF(ALWAYS, "dmasum: fd %d, bytes [%u, %u): sum %llu", fd, offset, offset + len, (unsigned long long)sum);
    *total = sum;
    return HAP_mmap_put(fd);
}

__QAIC_IMPL_EXPORT int dmasum_skel_handle_invoke(remote_handle64 h, uint32_t sc, remote_arg *pra) {
    (void)h;
    switch (REMOTE_SCALARS_METHOD(sc)) {
    case 0: /* open */
        if (sc != REMOTE_SCALARS_MAKEX(0, 0, 2, 0, 0, 1))
            return AEE_EBADPARM;
        pra[2].h64 = 1;
        return AEE_SUCCESS;
    case 1: /* close */
        return sc == REMOTE_SCALARS_MAKEX(0, 1, 0, 0, 1, 0) ? AEE_SUCCESS : AEE_EBADPARM;
    case 2: { /* sum: in {u32 len}, out {u64 total}, in handle {fd, offset} */
        uint32_t len;
        uint64_t total = 0;
        int err;
        if (sc != REMOTE_SCALARS_MAKEX(0, 2, 1, 1, 1, 0) || pra[0].buf.nLen < sizeof len ||
            pra[1].buf.nLen < sizeof total)
            return AEE_EBADPARM;
        memcpy(&len, pra[0].buf.pv, sizeof len);
        err = dmasum_sum_imp(pra[2].dma.fd, pra[2].dma.offset, len, &total);
        if (err == AEE_SUCCESS)
            memcpy(pra[1].buf.pv, &total, sizeof total);
        return err;
    }
    default:
        return AEE_EUNSUPPORTED;
    }
}
