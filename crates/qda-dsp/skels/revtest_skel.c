/*
 * A skel that calls back into its client process (reverse RPC), for the
 * tests: method 0 open, 1 close,
 *   2 getenv(in name, out value, out u32 {result, valLenReq}),
 *   3 readfile(in path, out bytes, out u32 {result, bytesRead}),
 *   4 farf(in message): one FARF(HIGH) line,
 *   5 raw(in u32 {handle, sc, outLen}, in bytes, out i32 result, out bytes):
 *     one reverse call of `sc` with the bytes as input 0 (if sc has one)
 *     and one output of outLen bytes (if it has one),
 *   6 cpu_sum(in uri, in int32[], out int64 sum, out u32 {nErr, result}):
 *     open the CPU-side skel `uri` through apps_remotectl, call its method 2
 *     (the calculator's sum) with the vector, close it.
 * The CPU side's apps_std is opened through apps_remotectl (const handle 0)
 * and called with the method ids and layouts of inc/apps_std.h (qualcomm
 * fastrpc @ 29851fde). Written for qda; no SDK or libfastrpc source text.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct { void *pv; size_t nLen; } remote_buf;
typedef union { remote_buf buf; uint32_t h; uint64_t h64; } remote_arg;

#define AEE_EOFFSET 0x80000400u
#define AEE_EBADPARM ((int)(AEE_EOFFSET + 0x00E))

#define SC_METHOD(sc) (((sc) >> 24) & 0x1f)
#define SC_INBUFS(sc) (((sc) >> 16) & 0xff)
#define SC_OUTBUFS(sc) (((sc) >> 8) & 0xff)
#define SC_OUTHANDLES(sc) ((sc) & 0x0f)
#define MAKE_SC(m, in, out) (((uint32_t)(m) << 24) | ((uint32_t)(in) << 16) | ((uint32_t)(out) << 8))

/* From qda's DSP runtime. */
int qda_dsp_reverse_invoke(uint32_t handle, uint32_t sc, void *pra);
void HAP_debug_v2(int level, const char *file, int line, const char *format, ...);

static uint64_t next_handle = 0x2000;

static remote_arg in(const void *p, size_t n) {
    remote_arg a;
    a.buf.pv = (void *)p;
    a.buf.nLen = n;
    return a;
}

/* apps_remotectl_open("apps_std"): its CPU-side handle. */
static int apps_std(uint32_t *h) {
    static const char name[] = "apps_std";
    uint32_t prim_in[2] = {sizeof name, 64};
    int32_t prim_out[2] = {0, 0};
    char dlerr[64];
    remote_arg a[4] = {in(prim_in, 8), in(name, sizeof name), in(prim_out, 8), in(dlerr, sizeof dlerr)};
    int r = qda_dsp_reverse_invoke(0, MAKE_SC(0, 2, 2), a);
    if (r)
        return r;
    if (prim_out[1])
        return prim_out[1];
    *h = (uint32_t)prim_out[0];
    return 0;
}

/* A C string argument: NUL-terminated within its length. */
static int cstr(remote_arg *a) {
    const char *s = a->buf.pv;
    return a->buf.nLen > 0 && s[a->buf.nLen - 1] == 0;
}

static int do_getenv(remote_arg *pra) {
    uint32_t h, prim_in[2], res[2] = {0, 0};
    int32_t req = 0;
    int r;
    if (!cstr(&pra[0]) || pra[2].buf.nLen != 8)
        return AEE_EBADPARM;
    if ((r = apps_std(&h)))
        return r;
    /* 16 getenv(name, val, valLen, &valLenReq): in0 {nameLen, valLen},
     * in1 name; out0 {valLenReq}, out1 val. */
    prim_in[0] = (uint32_t)pra[0].buf.nLen;
    prim_in[1] = (uint32_t)pra[1].buf.nLen;
    remote_arg a[4] = {in(prim_in, 8), pra[0], in(&req, 4), pra[1]};
    res[0] = (uint32_t)qda_dsp_reverse_invoke(h, MAKE_SC(16, 2, 2), a);
    res[1] = (uint32_t)req;
    memcpy(pra[2].buf.pv, res, 8);
    return 0;
}

static int do_readfile(remote_arg *pra) {
    static const char mode[] = "r";
    uint32_t h, prim_in[2], res[2] = {0, 0};
    int32_t file = 0, rd[2] = {0, 0};
    int r;
    if (!cstr(&pra[0]) || pra[2].buf.nLen != 8)
        return AEE_EBADPARM;
    if ((r = apps_std(&h)))
        return r;
    /* 0 fopen(name, mode, &FILE): in0 {nameLen, modeLen}, in1 name, in2
     * mode; out0 FILE. */
    prim_in[0] = (uint32_t)pra[0].buf.nLen;
    prim_in[1] = sizeof mode;
    remote_arg o[4] = {in(prim_in, 8), pra[0], in(mode, sizeof mode), in(&file, 4)};
    r = qda_dsp_reverse_invoke(h, MAKE_SC(0, 3, 1), o);
    if (!r) {
        /* 4 fread(FILE, buf, bufLen, &bytesRead, &bEOF): in0 {FILE,
         * bufLen}; out0 {bytesRead, bEOF}, out1 buf. */
        uint32_t p[2] = {(uint32_t)file, (uint32_t)pra[1].buf.nLen};
        remote_arg f[3] = {in(p, 8), in(rd, 8), pra[1]};
        r = qda_dsp_reverse_invoke(h, MAKE_SC(4, 1, 2), f);
        /* 3 fclose(FILE): in0 {FILE}. */
        remote_arg c[1] = {in(&file, 4)};
        qda_dsp_reverse_invoke(h, MAKE_SC(3, 1, 0), c);
    }
    res[0] = (uint32_t)r;
    res[1] = (uint32_t)rd[0];
    memcpy(pra[2].buf.pv, res, 8);
    return 0;
}

static int do_raw(remote_arg *pra) {
    uint32_t p[3];
    int32_t r;
    remote_arg a[2];
    int n = 0;
    if (pra[0].buf.nLen != 12 || pra[2].buf.nLen != 4)
        return AEE_EBADPARM;
    memcpy(p, pra[0].buf.pv, 12);
    if (SC_INBUFS(p[1]) > 1 || SC_OUTBUFS(p[1]) > 1 || p[2] > pra[3].buf.nLen)
        return AEE_EBADPARM;
    if (SC_INBUFS(p[1]))
        a[n++] = pra[1];
    if (SC_OUTBUFS(p[1]))
        a[n++] = in(pra[3].buf.pv, p[2]);
    r = qda_dsp_reverse_invoke(p[0], p[1], a);
    memcpy(pra[2].buf.pv, &r, 4);
    return 0;
}

static int do_cpu_sum(remote_arg *pra) {
    uint32_t prim_in[2], res[2] = {0, 0}, h, count;
    int32_t prim_out[2] = {0, 0};
    char dlerr[64];
    int r;
    if (!cstr(&pra[0]) || pra[1].buf.nLen % 4 || pra[2].buf.nLen != 8 || pra[3].buf.nLen != 8)
        return AEE_EBADPARM;
    /* apps_remotectl 0 open(name, &handle, dlerror, dlerrorLen, &nErr). */
    prim_in[0] = (uint32_t)pra[0].buf.nLen;
    prim_in[1] = sizeof dlerr;
    remote_arg o[4] = {in(prim_in, 8), pra[0], in(prim_out, 8), in(dlerr, sizeof dlerr)};
    r = qda_dsp_reverse_invoke(0, MAKE_SC(0, 2, 2), o);
    res[0] = r ? (uint32_t)r : (uint32_t)prim_out[1];
    if (!res[0]) {
        h = (uint32_t)prim_out[0];
        count = (uint32_t)(pra[1].buf.nLen / 4);
        remote_arg c[3] = {in(&count, 4), pra[1], pra[2]};
        res[1] = (uint32_t)qda_dsp_reverse_invoke(h, MAKE_SC(2, 2, 1), c);
        /* apps_remotectl 1 close(handle, dlerror, dlerrorLen, &nErr). */
        uint32_t ci[2] = {h, sizeof dlerr};
        int32_t cerr = 0;
        remote_arg cl[3] = {in(ci, 8), in(&cerr, 4), in(dlerr, sizeof dlerr)};
        qda_dsp_reverse_invoke(0, MAKE_SC(1, 1, 2), cl);
    }
    memcpy(pra[3].buf.pv, res, 8);
    return 0;
}

int revtest_skel_handle_invoke(uint64_t h, uint32_t sc, remote_arg *pra) {
    (void)h;
    switch (SC_METHOD(sc)) {
    case 0:
        if (SC_INBUFS(sc) != 2 || SC_OUTHANDLES(sc) != 1)
            return AEE_EBADPARM;
        pra[2].h64 = __atomic_fetch_add(&next_handle, 1, __ATOMIC_RELAXED);
        return 0;
    case 1:
        return 0;
    case 2:
        return sc == MAKE_SC(2, 1, 2) ? do_getenv(pra) : AEE_EBADPARM;
    case 3:
        return sc == MAKE_SC(3, 1, 2) ? do_readfile(pra) : AEE_EBADPARM;
    case 4:
        if (sc != MAKE_SC(4, 1, 0) || !cstr(&pra[0]))
            return AEE_EBADPARM;
        HAP_debug_v2(2, "revtest_skel.c", __LINE__, "revtest: %s", (const char *)pra[0].buf.pv);
        return 0;
    case 5:
        return sc == MAKE_SC(5, 2, 2) ? do_raw(pra) : AEE_EBADPARM;
    case 6:
        return sc == MAKE_SC(6, 2, 2) ? do_cpu_sum(pra) : AEE_EBADPARM;
    }
    return AEE_EBADPARM;
}
