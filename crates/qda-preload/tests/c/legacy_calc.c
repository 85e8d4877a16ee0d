/*
 * legacy_calc: the calculator as a program linked against libfastrpc would
 * run it, made of the library's own system calls (fastrpc_seq.h): the
 * rpcmem heap opened by the constructor, the DOMAIN_SUPPORT and capability
 * probes, rpcmem, and two sessions — the first with two modules open at
 * once (closed in the order given: `a-first` or `b-first`), the second
 * with one — each with INIT_CREATE (with the unsigned shell when
 * ./fastrpc_shell_unsigned_3 exists), a listener thread blocked in next2
 * until current_process1 exit, and the session fd closed at the end.
 *
 * Prints "Sum = 499500" and "Max value = 999".
 */
#include "fastrpc_seq.h"

#include <dirent.h>

static void list(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        printf("ls %s: %s\n", dir, strerror(errno));
        return;
    }
    printf("ls %s:", dir);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') printf(" %s", e->d_name);
    printf("\n");
    closedir(d);
}

int main(int argc, char **argv) {
    int b_first = argc > 1 && strcmp(argv[1], "b-first") == 0;
    const uint32_t n = 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* rpcmem_init, in the library's constructor. */
    int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
    if (heap < 0) FAIL("open /dev/dma_heap/system");
    list("/dev/dma_heap");
    list("/dev/accel");

    if (!domain_supported("cdsp")) {
        errno = 0;
        FAIL("the cdsp domain is not supported");
    }
    printf("probe: unsigned PD support %u\n", dsp_info("cdsp", 1));

    struct rpcmem v = rpcmem_alloc(heap, n * 4);
    for (uint32_t i = 0; i < n; i++) ((int32_t *)v.va)[i] = (int32_t)i;
    printf("probe: status notification support %u\n", dsp_info("cdsp", 10));

    /* The first session: two modules open at once. */
    struct session s;
    session_open(&s, heap);
    uint32_t a = remotectl_open(s.fd, CALC_URI);
    uint32_t b = remotectl_open(s.fd, CALC_URI);
    /* libfastrpc counts only handles above 0xff as open modules. */
    printf("session 1: %s shell, modules %s\n", s.with_shell ? "with the" : "without a",
           a > 0xff && b > 0xff && a != b ? "above 0xff and distinct" : "NOT above 0xff or equal");
    int64_t sum = calc(s.fd, a, 2, &v, n);
    int64_t max = calc(s.fd, b, 3, &v, n);
    remotectl_close(s.fd, b_first ? b : a);
    int64_t sum2 = calc(s.fd, b_first ? a : b, 2, &v, n);
    remotectl_close(s.fd, b_first ? a : b);
    if (sum2 != sum) {
        errno = 0;
        FAIL("the module left open answered %lld", (long long)sum2);
    }
    session_close(&s);
    printf("Sum = %lld\n", (long long)sum);

    /* The second open repeats the whole bring-up on a new fd. */
    session_open(&s, heap);
    uint32_t c = remotectl_open(s.fd, CALC_URI);
    int64_t max2 = calc(s.fd, c, 3, &v, n);
    session_close(&s); /* the last handle's close tears the session down: no close1 */
    if (max2 != max) {
        errno = 0;
        FAIL("two sessions disagree on the max: %lld, %lld", (long long)max, (long long)max2);
    }
    printf("Max value = %lld\n", (long long)max);

    rpcmem_free(&v);
    close(heap);
    return 0;
}
