/*
 * calculator_imp.c: the calculator's implementation, run by the DSP.
 * The skel (calculator_skel.c) unpacks each call and calls these.
 */
#include <stdint.h>
#include <stdlib.h>

#include "AEEStdErr.h"
#include "HAP_farf.h"
#include "calculator.h"

/* Per-handle state: here only a count of calls. */
struct calculator_ctx {
    unsigned calls;
};

int calculator_open(const char *uri, remote_handle64 *h) {
    struct calculator_ctx *ctx = calloc(1, sizeof *ctx);
    (void)uri;
    if (ctx == NULL)
        return AEE_ENOMEMORY;
    *h = (remote_handle64)(uintptr_t)ctx;
    return AEE_SUCCESS;
}

int calculator_close(remote_handle64 h) {
    free((struct calculator_ctx *)(uintptr_t)h);
    return AEE_SUCCESS;
}

int calculator_sum(remote_handle64 h, const int *vec, int vecLen, int64 *res) {
    struct calculator_ctx *ctx = (struct calculator_ctx *)(uintptr_t)h;
    int64 sum = 0;
    for (int i = 0; i < vecLen; i++)
        sum += vec[i];
    ctx->calls++;
    FARF(ALWAYS, "calculator_sum: %d elements, sum %lld", vecLen, (long long)sum);
    *res = sum;
    return AEE_SUCCESS;
}

int calculator_max(remote_handle64 h, const int *vec, int vecLen, int *res) {
    struct calculator_ctx *ctx = (struct calculator_ctx *)(uintptr_t)h;
    int max = vecLen > 0 ? vec[0] : 0;
    for (int i = 1; i < vecLen; i++)
        if (vec[i] > max)
            max = vec[i];
    ctx->calls++;
    FARF(ALWAYS, "calculator_max: %d elements, max %d", vecLen, max);
    *res = max;
    return AEE_SUCCESS;
}
