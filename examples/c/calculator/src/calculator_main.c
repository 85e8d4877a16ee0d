/*
 * calculator_main.c: the calculator application.
 * Usage: calculator [-d domain] [-n count] [-U 0|1]
 *   -d  DSP domain id (0 ADSP, 2 SDSP, 3 CDSP; default 3)
 *   -n  sum and max of 0..count-1 (default 1000)
 *   -U  1 (default) to run as an unsigned process, 0 signed
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "remote.h"

int calculator_test(int domain, int num, bool unsigned_pd);

int main(int argc, char **argv) {
    int domain = CDSP_DOMAIN_ID, num = 1000, unsigned_pd = 1, opt, err;
    while ((opt = getopt(argc, argv, "d:n:U:")) != -1) {
        switch (opt) {
        case 'd':
            domain = atoi(optarg);
            break;
        case 'n':
            num = atoi(optarg);
            break;
        case 'U':
            unsigned_pd = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: %s [-d domain] [-n count] [-U 0|1]\n", argv[0]);
            return 2;
        }
    }
    printf("calculator: domain %d, %d elements, %s process\n", domain, num, unsigned_pd ? "unsigned" : "signed");
    err = calculator_test(domain, num, unsigned_pd != 0);
    if (err != 0) {
        printf("calculator FAILED: 0x%x\n", (unsigned)err);
        return 1;
    }
    printf("calculator PASSED\n");
    return 0;
}
