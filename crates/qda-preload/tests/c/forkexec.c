/*
 * forkexec: device files and dma-bufs across fork and exec under the shim.
 *
 *   forkexec            the parent: opens a device file twice (one
 *                       O_CLOEXEC), dups one, fills a dma-buf with 0..999,
 *                       forks; the child checks what it inherited, opens a
 *                       device file of its own (through qdad it may; from an
 *                       embedded parent it may not) and execs
 *                       `forkexec exec KEEP GONE BUF`; the parent then runs
 *                       the calculator on the session it opened before the
 *                       fork, its listener blocked in next2 all along (the
 *                       child's exit released nothing of the parent's).
 *   forkexec exec ...   the new image: the O_CLOEXEC fd is gone, the other
 *                       survived as a plain fd, and the calculator runs on a
 *                       device file of its own — over the parent's dma-buf
 *                       when SHARE_DMABUF=1 (two processes, one buffer:
 *                       through qdad), else over a buffer of its own.
 */
#include "fastrpc_seq.h"

#include <sys/wait.h>

/* The calculator on session `s` (opened with its listener), then its end. */
static void calculator_on(const char *who, struct session *s, struct rpcmem *v) {
    uint32_t h = remotectl_open(s->fd, CALC_URI);
    int64_t sum = calc(s->fd, h, 2, v, 1000);
    int64_t max = calc(s->fd, h, 3, v, 1000);
    session_close(s);
    printf("%s: Sum = %lld\n", who, (long long)sum);
    printf("%s: Max value = %lld\n", who, (long long)max);
}

static void calculator(const char *who, int heap, struct rpcmem *v) {
    struct session s;
    session_open(&s, heap);
    uint32_t h = remotectl_open(s.fd, CALC_URI);
    int64_t sum = calc(s.fd, h, 2, v, 1000);
    int64_t max = calc(s.fd, h, 3, v, 1000);
    session_close(&s);
    printf("%s: Sum = %lld\n", who, (long long)sum);
    printf("%s: Max value = %lld\n", who, (long long)max);
}

static int exec_image(char **argv) {
    int keep = atoi(argv[2]), gone = atoi(argv[3]), buf = atoi(argv[4]);
    if (fcntl(gone, F_GETFD) == -1 && errno == EBADF)
        printf("exec: the O_CLOEXEC device fd %d was closed\n", gone);
    else
        printf("exec: the O_CLOEXEC device fd %d is still open\n", gone);
    struct fastrpc_ioctl_capability c = { .domain = CDSP_DOMAIN, .attribute_id = 1 };
    int flags = fcntl(keep, F_GETFD);
    int r = ioctl(keep, FASTRPC_IOCTL_GET_DSP_INFO, &c);
    printf("exec: the inherited device fd %d is %s; its ioctl: %s\n", keep, flags >= 0 ? "open" : "closed",
           r == 0 ? "answered" : strerror(errno));

    int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
    if (heap < 0) FAIL("open /dev/dma_heap/system");
    struct rpcmem v;
    const char *share = getenv("SHARE_DMABUF");
    if (share && strcmp(share, "1") == 0) {
        void *va = mmap(NULL, 4000, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
        if (va == MAP_FAILED) FAIL("mmap of the parent's dma-buf");
        v.fd = buf;
        v.va = va;
        v.len = 4000;
        printf("exec: using the parent's dma-buf (fd %d), [999] = %d\n", buf, ((int32_t *)va)[999]);
    } else {
        v = rpcmem_alloc(heap, 4000);
        for (int i = 0; i < 1000; i++) ((int32_t *)v.va)[i] = i;
    }
    calculator("exec", heap, &v);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 5 && strcmp(argv[1], "exec") == 0) return exec_image(argv);

    int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
    if (heap < 0) FAIL("open /dev/dma_heap/system");
    int keep0 = open("/dev/fastrpc-cdsp", O_RDONLY | O_NONBLOCK);
    int gone = open("/dev/fastrpc-cdsp", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (keep0 < 0 || gone < 0) FAIL("open /dev/fastrpc-cdsp");
    int keep = dup(keep0);
    int keep2 = fcntl(keep0, F_DUPFD_CLOEXEC, 20);
    close(keep0);
    dsp_info_on(keep, 1);
    dsp_info_on(keep2, 1);
    close(keep2);
    dsp_info_on(keep, 1);
    printf("parent: device fds %d (dup of a closed one) and %d (O_CLOEXEC) answer\n", keep, gone);

    struct rpcmem v = rpcmem_alloc(heap, 4000);
    for (int i = 0; i < 1000; i++) ((int32_t *)v.va)[i] = i;
    if (fcntl(v.fd, F_SETFD, 0) != 0) FAIL("F_SETFD on the dma-buf");

    /* A session is up, its listener thread blocked in next2, across fork. */
    struct session s;
    session_open(&s, heap);

    pid_t pid = fork();
    if (pid < 0) FAIL("fork");
    if (pid == 0) {
        struct fastrpc_ioctl_capability c = { .domain = CDSP_DOMAIN, .attribute_id = 1 };
        int r = ioctl(keep, FASTRPC_IOCTL_GET_DSP_INFO, &c);
        printf("child: the inherited device fd: %s\n", r == 0 ? "answered" : strerror(errno));
        r = invoke(s.fd, 8, SC(2, 2, 2), NULL);
        printf("child: the parent's session: %s\n", r == 0 ? "answered" : strerror(errno));
        int32_t *va = mmap(NULL, 4000, PROT_READ, MAP_SHARED, v.fd, 0);
        if (va == MAP_FAILED) FAIL("child: mmap of the inherited dma-buf");
        printf("child: the inherited dma-buf reads %d at [999]\n", va[999]);
        int own = open("/dev/fastrpc-cdsp", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (own >= 0) {
            dsp_info_on(own, 1);
            close(own);
            printf("child: a device file of its own: answered\n");
        } else {
            printf("child: a device file of its own: %s\n", strerror(errno));
        }
        char a[3][16];
        snprintf(a[0], 16, "%d", keep);
        snprintf(a[1], 16, "%d", gone);
        snprintf(a[2], 16, "%d", v.fd);
        execl("/proc/self/exe", argv[0], "exec", a[0], a[1], a[2], (char *)NULL);
        FAIL("exec");
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) FAIL("waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errno = 0;
        FAIL("the child failed (status 0x%x)", st);
    }
    dsp_info_on(keep, 1);
    dsp_info_on(gone, 1);
    calculator_on("parent", &s, &v);
    return 0;
}
