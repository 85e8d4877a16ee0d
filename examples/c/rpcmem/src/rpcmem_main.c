/*
 * rpcmem_main.c: zero-copy buffers. Two buffers from rpcmem_alloc go to
 * the DSP, one in and one out; the DSP reads the first and writes the
 * second in place, and the application checks every byte.
 * Usage: rpcmem [-s bytes] [-o bytes] [-n calls] [-m]
 *   -s  buffer size (default 1 MiB)   -n  calls (default 4)
 *   -o  a different output size: the DSP refuses it, and the application
 *       shows the DSP's error code (AEE_EBADPARM from the DSP: 0x8000040e)
 *   -m  use malloc'd buffers instead (copied on every call), for comparison
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "AEEStdErr.h"
#include "remote.h"
#include "rpcmem.h"
#include "xorbuf.h"

static void *alloc(int size, int use_malloc) {
    return use_malloc ? malloc((size_t)size) : rpcmem_alloc(RPCMEM_HEAP_ID_SYSTEM, RPCMEM_DEFAULT_FLAGS, size);
}

static void release(void *p, int use_malloc) {
    if (use_malloc)
        free(p);
    else
        rpcmem_free(p);
}

int main(int argc, char **argv) {
    int size = 1 << 20, out_size = -1, calls = 4, use_malloc = 0, opt, err = AEE_SUCCESS;
    uint8 *src, *dst;
    remote_handle64 h;
    while ((opt = getopt(argc, argv, "s:o:n:m")) != -1) {
        if (opt == 's')
            size = atoi(optarg);
        else if (opt == 'o')
            out_size = atoi(optarg);
        else if (opt == 'n')
            calls = atoi(optarg);
        else if (opt == 'm')
            use_malloc = 1;
        else {
            fprintf(stderr, "usage: %s [-s bytes] [-o bytes] [-n calls] [-m]\n", argv[0]);
            return 2;
        }
    }
    if (out_size < 0)
        out_size = size;
    if (size <= 0 || out_size <= 0 || calls <= 0) {
        fprintf(stderr, "sizes and calls must be positive\n");
        return 2;
    }
    src = alloc(size, use_malloc);
    dst = alloc(out_size, use_malloc);
    if (!src || !dst) {
        printf("ERROR: allocating 2 x %d bytes failed\n", size);
        return 1;
    }
    if (!use_malloc)
        printf("rpcmem buffers: in fd %d (%d bytes), out fd %d (%d bytes)\n", rpcmem_to_fd(src), size,
               rpcmem_to_fd(dst), out_size);
    for (int i = 0; i < size; i++)
        src[i] = (uint8)(i * 7 + (i >> 8));
    if ((err = xorbuf_open(xorbuf_URI CDSP_DOMAIN, &h)) != AEE_SUCCESS) {
        printf("ERROR 0x%x: xorbuf_open\n", (unsigned)err);
        return 1;
    }
    for (int c = 0; c < calls && err == AEE_SUCCESS; c++) {
        uint8 key = (uint8)(0x5a + c);
        err = xorbuf_apply(h, src, size, key, dst, out_size);
        if (err != AEE_SUCCESS) {
            printf("ERROR 0x%x: xorbuf_apply, call %d\n", (unsigned)err, c);
            break;
        }
        for (int i = 0; i < size; i++) {
            if (dst[i] != (uint8)(src[i] ^ key)) {
                printf("ERROR: call %d, byte %d is 0x%02x, not 0x%02x\n", c, i, dst[i], (uint8)(src[i] ^ key));
                err = AEE_EFAILED;
                break;
            }
        }
    }
    xorbuf_close(h);
    release(src, use_malloc);
    release(dst, use_malloc);
    if (err != AEE_SUCCESS) {
        printf("rpcmem FAILED: 0x%x\n", (unsigned)err);
        return 1;
    }
    printf("%d calls, %d bytes in and out each: every byte checked\n", calls, size);
    printf("rpcmem PASSED\n");
    return 0;
}
