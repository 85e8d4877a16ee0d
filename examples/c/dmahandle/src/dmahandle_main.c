/*
 * dmahandle_main.c: hand the DSP a buffer by its fd. The application fills
 * an rpcmem buffer, passes its fd and a window of it as a dmahandle, and
 * compares the DSP's sum of that window with its own.
 */
#include <stdio.h>

#include "AEEStdErr.h"
#include "dmasum.h"
#include "remote.h"
#include "rpcmem.h"

#define SIZE (64 * 1024)
#define OFFSET 4096
#define LEN (SIZE - 2 * OFFSET)

int main(void) {
    uint8 *buf = rpcmem_alloc(RPCMEM_HEAP_ID_SYSTEM, RPCMEM_DEFAULT_FLAGS, SIZE);
    remote_handle64 h;
    uint64 dsp = 0, cpu = 0;
    int fd, err;
    if (buf == NULL) {
        printf("ERROR: rpcmem_alloc failed\n");
        return 1;
    }
    fd = rpcmem_to_fd(buf);
    for (int i = 0; i < SIZE; i++)
        buf[i] = (uint8)(i * 31 + 7);
    for (int i = OFFSET; i < OFFSET + LEN; i++)
        cpu += buf[i];
    if ((err = dmasum_open(dmasum_URI CDSP_DOMAIN, &h)) != AEE_SUCCESS) {
        printf("ERROR 0x%x: dmasum_open\n", (unsigned)err);
        return 1;
    }
    err = dmasum_sum(h, fd, OFFSET, LEN, &dsp);
    dmasum_close(h);
    rpcmem_free(buf);
    if (err != AEE_SUCCESS) {
        printf("ERROR 0x%x: dmasum_sum\n", (unsigned)err);
        return 1;
    }
    printf("fd %d, bytes [%d, %d): the DSP's sum %llu, the application's %llu\n", fd, OFFSET, OFFSET + LEN,
           (unsigned long long)dsp, (unsigned long long)cpu);
    if (dsp != cpu) {
        printf("dmahandle FAILED\n");
        return 1;
    }
    printf("dmahandle PASSED\n");
    return 0;
}
