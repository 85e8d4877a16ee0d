/*
 * two_modules_main.c: two modules of one process on the DSP at once. A
 * calculator handle and a hello handle are open together, used in turns,
 * and closed in one order, then in the other; then two calculator handles.
 */
#include <stdio.h>
#include <stdlib.h>

#include "AEEStdErr.h"
#include "calculator.h"
#include "hello.h"
#include "remote.h"

#define CHECK(call)                                                          \
    do {                                                                     \
        int _e = (call);                                                     \
        if (_e != AEE_SUCCESS) {                                             \
            printf("ERROR 0x%x: %s\n", (unsigned)_e, #call);                 \
            printf("two_modules FAILED: 0x%x\n", (unsigned)_e);              \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

static int vec[100];

/* Use both handles: a sum on the calculator, a greeting on hello. */
static void use(remote_handle64 calc, remote_handle64 hi, const char *who) {
    int64 sum = 0, us = 0;
    CHECK(calculator_sum(calc, vec, 100, &sum));
    CHECK(hello_greet(hi, who, &us));
    printf("%s: Sum = %lld, hello took %lld us\n", who, (long long)sum, (long long)us);
    if (sum != 4950) {
        printf("two_modules FAILED: sum %lld\n", (long long)sum);
        exit(1);
    }
}

int main(void) {
    remote_handle64 calc, hi, calc2;
    int max = 0;
    for (int i = 0; i < 100; i++)
        vec[i] = i;

    /* Both open; close the first opened first. */
    CHECK(calculator_open(calculator_URI CDSP_DOMAIN, &calc));
    CHECK(hello_open(hello_URI CDSP_DOMAIN, &hi));
    use(calc, hi, "round 1");
    CHECK(calculator_close(calc));
    CHECK(hello_greet(hi, "hello still open", &(int64){0}));
    CHECK(hello_close(hi));

    /* Both open again; close the last opened first. */
    CHECK(calculator_open(calculator_URI CDSP_DOMAIN, &calc));
    CHECK(hello_open(hello_URI CDSP_DOMAIN, &hi));
    use(calc, hi, "round 2");
    CHECK(hello_close(hi));
    CHECK(calculator_max(calc, vec, 100, &max));
    printf("calculator still open: Max value = %d\n", max);
    CHECK(calculator_close(calc));

    /* Two instances of one module. */
    CHECK(calculator_open(calculator_URI CDSP_DOMAIN, &calc));
    CHECK(calculator_open(calculator_URI CDSP_DOMAIN, &calc2));
    if (calc == calc2) {
        printf("two_modules FAILED: two opens gave one handle\n");
        return 1;
    }
    CHECK(calculator_max(calc2, vec, 50, &max));
    CHECK(calculator_close(calc2));
    CHECK(calculator_max(calc, vec, 100, &max));
    CHECK(calculator_close(calc));
    printf("two_modules PASSED\n");
    return 0;
}
