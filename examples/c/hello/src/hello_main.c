/*
 * hello_main.c: greet the DSP and print what the call returned and how
 * long it took, as the application and as the DSP measured it.
 * Usage: hello [name]
 */
#include <stdio.h>
#include <time.h>

#include "AEEStdErr.h"
#include "hello.h"
#include "remote.h"

static long long now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "world";
    remote_handle64 h;
    int64 dsp_us = 0;
    long long t0, t1;
    int err = hello_open(hello_URI CDSP_DOMAIN, &h);
    if (err != AEE_SUCCESS) {
        printf("ERROR 0x%x: hello_open\n", (unsigned)err);
        return 1;
    }
    t0 = now_us();
    err = hello_greet(h, name, &dsp_us);
    t1 = now_us();
    printf("hello_greet returned 0x%x: the DSP spent %lld us, the call took %lld us\n", (unsigned)err,
           (long long)dsp_us, t1 - t0);
    if (err == AEE_SUCCESS)
        err = hello_close(h);
    else
        hello_close(h);
    if (err != AEE_SUCCESS) {
        printf("hello FAILED: 0x%x\n", (unsigned)err);
        return 1;
    }
    printf("hello PASSED\n");
    return 0;
}
