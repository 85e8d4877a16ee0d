/*
 * calculator_test.c: the calculator application's body: check the DSP,
 * put 0..num-1 in shared memory, and have the DSP sum it and find its
 * largest element.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "AEEStdErr.h"
#include "calculator.h"
#include "remote.h"
#include "rpcmem.h"

/* The URI suffix that selects a domain ("&_dom=cdsp"...). */
static const char *domain_suffix(int domain) {
    switch (domain) {
    case ADSP_DOMAIN_ID:
        return ADSP_DOMAIN;
    case MDSP_DOMAIN_ID:
        return MDSP_DOMAIN;
    case SDSP_DOMAIN_ID:
        return SDSP_DOMAIN;
    case CDSP_DOMAIN_ID:
        return CDSP_DOMAIN;
    case CDSP1_DOMAIN_ID:
        return CDSP1_DOMAIN;
    default:
        return NULL;
    }
}

/* One DSP capability, or -1 if it cannot be asked. */
static int dsp_capability(int domain, uint32_t attribute) {
    struct remote_dsp_capability cap = {(uint32_t)domain, attribute, 0};
    int err = remote_handle_control(DSPRPC_GET_DSP_INFO, &cap, sizeof cap);
    if (err != AEE_SUCCESS) {
        printf("ERROR 0x%x: DSPRPC_GET_DSP_INFO attribute %u\n", (unsigned)err, (unsigned)attribute);
        return -1;
    }
    return (int)cap.capability;
}

int calculator_test(int domain, int num, bool unsigned_pd) {
    char uri[256];
    const char *dom = domain_suffix(domain);
    remote_handle64 h = (remote_handle64)-1;
    int *vec = NULL;
    int64 sum = 0;
    int max = 0, err;
    int len = num * (int)sizeof(int);

    if (dom == NULL || num <= 0) {
        printf("ERROR: bad domain %d or count %d\n", domain, num);
        return AEE_EBADPARM;
    }
    if (dsp_capability(domain, DOMAIN_SUPPORT) != 1) {
        printf("ERROR: domain %d is not supported on this device\n", domain);
        return AEE_EUNSUPPORTED;
    }
    if (unsigned_pd) {
        struct remote_rpc_control_unsigned_module data = {domain, 1};
        if (dsp_capability(domain, UNSIGNED_PD_SUPPORT) != 1) {
            printf("ERROR: domain %d cannot run unsigned processes\n", domain);
            return AEE_EUNSUPPORTED;
        }
        err = remote_session_control(DSPRPC_CONTROL_UNSIGNED_MODULE, &data, sizeof data);
        if (err != AEE_SUCCESS) {
            printf("ERROR 0x%x: remote_session_control(DSPRPC_CONTROL_UNSIGNED_MODULE)\n", (unsigned)err);
            return err;
        }
    }

    vec = (int *)rpcmem_alloc(RPCMEM_HEAP_ID_SYSTEM, RPCMEM_DEFAULT_FLAGS, len);
    if (vec == NULL) {
        printf("ERROR: rpcmem_alloc of %d bytes failed\n", len);
        return AEE_ENORPCMEMORY;
    }
    for (int i = 0; i < num; i++)
        vec[i] = i;

    snprintf(uri, sizeof uri, "%s%s", calculator_URI, dom);
    if ((err = calculator_open(uri, &h)) != AEE_SUCCESS) {
        printf("ERROR 0x%x: calculator_open(%s)\n", (unsigned)err, uri);
        goto out;
    }
    if ((err = calculator_sum(h, vec, num, &sum)) != AEE_SUCCESS) {
        printf("ERROR 0x%x: calculator_sum\n", (unsigned)err);
        calculator_close(h);
        goto out;
    }
    printf("Sum = %lld\n", (long long)sum);
    if ((err = calculator_close(h)) != AEE_SUCCESS) {
        printf("ERROR 0x%x: calculator_close\n", (unsigned)err);
        goto out;
    }

    if ((err = calculator_open(uri, &h)) != AEE_SUCCESS) {
        printf("ERROR 0x%x: calculator_open(%s)\n", (unsigned)err, uri);
        goto out;
    }
    if ((err = calculator_max(h, vec, num, &max)) != AEE_SUCCESS) {
        printf("ERROR 0x%x: calculator_max\n", (unsigned)err);
        calculator_close(h);
        goto out;
    }
    printf("Max value = %d\n", max);
    if ((err = calculator_close(h)) != AEE_SUCCESS)
        printf("ERROR 0x%x: calculator_close\n", (unsigned)err);
out:
    rpcmem_free(vec);
    return err;
}
