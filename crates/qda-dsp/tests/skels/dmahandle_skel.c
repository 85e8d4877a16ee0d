/*
 * A test skel written against qda's skel-side SDK headers, as a qaic
 * skel for this IDL would be called:
 *
 *   interface dmahandle {
 *     long sum(in dmahandle buf, rout report r);        // method 2
 *     long farf(in unsigned long token);                 // method 3
 *     long bad(in long fd, rout long rcs[4]);            // method 4
 *     long keep(in dmahandle buf);                       // method 5
 *     long kept(rout kept_report r);                     // method 6
 *     long perf(rout perf_report r);                     // method 7
 *     long fill(in octet value, rout dmahandle buf);     // method 8
 *     long peek(in long req[3], rout peek_report r);     // method 9
 *     long peek2(in long req[3], rout peek_report r);    // method 10: HAP_mmap
 *   };
 *
 * Handles arrive as remote_arg.dma {fd, offset} with the length after them
 * (remote_arg64's dma.len); the skel reaches the buffer with HAP_mmap_get on
 * the fd. Built with qda's SDK headers only. Written for qda's tests.
 */
#define FARF_HIGH 1 /* on; LOW and MEDIUM stay off (compiled out) */
#include <stdint.h>
#include <string.h>

#include "AEEStdErr.h"
#include "HAP_farf.h"
#include "HAP_mem.h"
#include "HAP_perf.h"
#include "remote.h"

/* As qaic-generated skels declare it. */
extern int adsp_mmap_fd_getinfo(int, uint32_t *);

/* A handle's length: bytes 8..12 of its remote_arg, the remote_arg64 view
 * (remote_arg's dma member is {fd, offset}). */
#define DMA_LEN(pra, i) (((remote_arg64 *)(pra))[i].dma.len)


#define SC(m, ib, ob, ih, oh) (((uint32_t)(m) << 24) | ((ib) << 16) | ((ob) << 8) | ((ih) << 4) | (oh))

struct report {
    int32_t fd;
    uint32_t offset;
    uint32_t len;
    uint32_t buflen;
    uint64_t sum;
    int32_t get_rc;
    int32_t put_rc;
    uint64_t dsp_addr;
};

struct kept_report {
    uint64_t sum;
    int32_t put_rc;
    int32_t put_again_rc;
};

struct perf_report {
    uint64_t slept_us;
    uint64_t qtimer_us;
    uint64_t pcycles;
    int32_t malloc_rc;
    int32_t free_rc;
    int32_t free_null_rc;
    int32_t pad;
};

static int kept_fd = -1;
static const uint8_t *kept_ptr;
static uint32_t kept_len;

static uint64_t next_handle = 0x2000;

int dmahandle_skel_handle_invoke(uint64_t h, uint32_t sc, remote_arg *pra) {
    (void)h;
    switch ((sc >> 24) & 0x1f) {
    case 0: /* open(uri) -> handle */
        pra[2].h64 = __atomic_fetch_add(&next_handle, 1, __ATOMIC_RELAXED);
        return 0;
    case 1:
        return 0;
    case 2: { /* sum(in dmahandle, rout report) */
        struct report r;
        void *va = 0;
        uint64 pa = 0;
        if (sc != SC(2, 0, 1, 1, 0) || pra[0].buf.nLen != sizeof r)
            return AEE_EBADPARM;
        memset(&r, 0, sizeof r);
        r.fd = pra[1].dma.fd;
        r.offset = pra[1].dma.offset;
        r.len = DMA_LEN(pra, 1);
        if (adsp_mmap_fd_getinfo(r.fd, &r.buflen) != 0)
            r.buflen = 0;
        r.get_rc = HAP_mmap_get(r.fd, &va, &pa);
        if (r.get_rc == 0) {
            if ((uint64_t)r.offset + r.len > r.buflen)
                return AEE_EBADPARM;
            for (uint32_t i = 0; i < r.len; i++)
                r.sum += ((const uint8_t *)va)[r.offset + i];
            r.dsp_addr = pa;
            r.put_rc = HAP_mmap_put(r.fd);
        }
        FARF(ALWAYS, "sum of fd %d [%u, +%u): %llu", (int)r.fd, r.offset, r.len, (unsigned long long)r.sum);
        memcpy(pra[0].buf.pv, &r, sizeof r);
        return 0;
    }
    case 3: { /* farf(in token) */
        uint32_t t;
        if (sc != SC(3, 1, 0, 0, 0) || pra[0].buf.nLen != 4)
            return AEE_EBADPARM;
        memcpy(&t, pra[0].buf.pv, 4);
        FARF(HIGH, "farf-high %u", t);
        FARF(ERROR, "farf-error %u", t); /* FARF_ERROR off: compiled out */
        FARF(LOW, "farf-low %u", t);
        FARF(MEDIUM, "farf-medium %u", t);
        FARF(ALWAYS, "farf-always %u", t);
        FARF(RUNTIME_HIGH, "farf-runtime %u", t);
        FARF(HIGH, "farf-newline %u\n", t); /* one line all the same */
        return 0;
    }
    case 4: { /* bad(in fd, rout rcs[4]) */
        int32_t fd, rc[4];
        void *va = 0;
        uint32_t len = 0;
        if (sc != SC(4, 1, 1, 0, 0) || pra[0].buf.nLen != 4 || pra[1].buf.nLen != sizeof rc)
            return AEE_EBADPARM;
        memcpy(&fd, pra[0].buf.pv, 4);
        rc[0] = HAP_mmap_get(fd, &va, 0);
        rc[1] = HAP_mmap_put(fd);
        rc[2] = adsp_mmap_fd_getinfo(fd, &len);
        rc[3] = HAP_mmap_get(fd, 0, 0);
        memcpy(pra[1].buf.pv, rc, sizeof rc);
        return 0;
    }
    case 5: { /* keep(in dmahandle): get, no put */
        void *va = 0;
        int rc;
        if (sc != SC(5, 0, 0, 1, 0) || kept_fd != -1)
            return AEE_EBADPARM;
        if ((rc = HAP_mmap_get(pra[0].dma.fd, &va, 0)) != 0)
            return rc;
        kept_fd = pra[0].dma.fd;
        kept_ptr = (const uint8_t *)va + pra[0].dma.offset;
        kept_len = DMA_LEN(pra, 0);
        return 0;
    }
    case 6: { /* kept(rout kept_report): read the kept buffer, put it */
        struct kept_report r;
        if (sc != SC(6, 0, 1, 0, 0) || pra[0].buf.nLen != sizeof r || kept_fd == -1)
            return AEE_EBADPARM;
        memset(&r, 0, sizeof r);
        for (uint32_t i = 0; i < kept_len; i++)
            r.sum += kept_ptr[i];
        r.put_rc = HAP_mmap_put(kept_fd);
        r.put_again_rc = HAP_mmap_put(kept_fd);
        kept_fd = -1;
        memcpy(pra[0].buf.pv, &r, sizeof r);
        return 0;
    }
    case 7: { /* perf(rout perf_report) */
        struct perf_report r;
        uint64 t0, q0, c0;
        void *p = 0;
        if (sc != SC(7, 0, 1, 0, 0) || pra[0].buf.nLen != sizeof r)
            return AEE_EBADPARM;
        memset(&r, 0, sizeof r);
        t0 = HAP_perf_get_time_us();
        q0 = HAP_perf_get_qtimer_count();
        c0 = HAP_perf_get_pcycles();
        HAP_timer_sleep(2000);
        r.slept_us = HAP_perf_get_time_us() - t0;
        r.qtimer_us = HAP_perf_qtimer_count_to_us(HAP_perf_get_qtimer_count() - q0);
        r.pcycles = HAP_perf_get_pcycles() - c0;
        r.malloc_rc = HAP_malloc(100, &p);
        if (p)
            memset(p, 1, 100);
        r.free_rc = HAP_free(p);
        r.free_null_rc = HAP_free(0);
        memcpy(pra[0].buf.pv, &r, sizeof r);
        return 0;
    }
    case 8: { /* fill(in value, rout dmahandle) */
        void *va = 0;
        uint8_t v;
        int rc;
        if (sc != SC(8, 1, 0, 0, 1) || pra[0].buf.nLen != 1)
            return AEE_EBADPARM;
        memcpy(&v, pra[0].buf.pv, 1);
        if ((rc = HAP_mmap_get(pra[1].dma.fd, &va, 0)) != 0)
            return rc;
        memset((uint8_t *)va + pra[1].dma.offset, v, DMA_LEN(pra, 1));
        return HAP_mmap_put(pra[1].dma.fd);
    }
    case 9: { /* peek({fd, offset, len}, rout {sum, get_rc, put_rc}): a buffer
                 the client mapped by fd (MEM_MAP), no handle in the call */
        int32_t req[3];
        struct { uint64_t sum; int32_t get_rc; int32_t put_rc; } r;
        void *va = 0;
        uint32_t buflen = 0;
        if (sc != SC(9, 1, 1, 0, 0) || pra[0].buf.nLen != sizeof req || pra[1].buf.nLen != sizeof r)
            return AEE_EBADPARM;
        memcpy(req, pra[0].buf.pv, sizeof req);
        memset(&r, 0, sizeof r);
        r.get_rc = HAP_mmap_get(req[0], &va, 0);
        if (r.get_rc == 0) {
            if (adsp_mmap_fd_getinfo(req[0], &buflen) != 0 || (uint64_t)(uint32_t)req[1] + (uint32_t)req[2] > buflen)
                return AEE_EBADPARM;
            for (uint32_t i = 0; i < (uint32_t)req[2]; i++)
                r.sum += ((const uint8_t *)va)[(uint32_t)req[1] + i];
            r.put_rc = HAP_mmap_put(req[0]);
        }
        memcpy(pra[1].buf.pv, &r, sizeof r);
        return 0;
    }
    case 10: { /* peek2: the same through HAP_mmap / HAP_munmap */
        int32_t req[3];
        struct { uint64_t sum; int32_t get_rc; int32_t put_rc; } r;
        const uint8_t *p;
        if (sc != SC(10, 1, 1, 0, 0) || pra[0].buf.nLen != sizeof req || pra[1].buf.nLen != sizeof r)
            return AEE_EBADPARM;
        memcpy(req, pra[0].buf.pv, sizeof req);
        memset(&r, 0, sizeof r);
        p = HAP_mmap(0, req[2], HAP_PROT_READ, 0, req[0], req[1]);
        if (p == (void *)-1) {
            r.get_rc = -1;
        } else {
            for (int32_t i = 0; i < req[2]; i++)
                r.sum += p[i];
            r.put_rc = HAP_munmap((void *)p, req[2]);
        }
        memcpy(pra[1].buf.pv, &r, sizeof r);
        return 0;
    }
    default:
        return AEE_EUNSUPPORTED;
    }
}
