/*
 * The legacy FastRPC calls libfastrpc makes, written out as raw syscalls
 * for the shim's tests (qda's own code, from the UAPI and the sequence
 * recorded in shared/reference/fastrpc.md §B4, §B5, §B10). Every helper
 * prints what failed and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct fastrpc_invoke_args { uint64_t ptr; uint64_t length; int32_t fd; uint32_t attr; };
struct fastrpc_invoke { uint32_t handle; uint32_t sc; uint64_t args; };
struct fastrpc_init_create { uint32_t filelen; int32_t filefd; uint32_t attrs; uint32_t siglen; uint64_t file; };
struct fastrpc_ioctl_capability { uint32_t domain; uint32_t attribute_id; uint32_t capability; uint32_t reserved[4]; };
struct dma_heap_allocation_data { uint64_t len; uint32_t fd; uint32_t fd_flags; uint64_t heap_flags; };

#define FASTRPC_IOCTL_INVOKE _IOWR('R', 3, struct fastrpc_invoke)
#define FASTRPC_IOCTL_INIT_CREATE _IOWR('R', 5, struct fastrpc_init_create)
#define FASTRPC_IOCTL_GET_DSP_INFO _IOWR('R', 13, struct fastrpc_ioctl_capability)
#define DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0x0, struct dma_heap_allocation_data)

#define SC(method, in, out) (((uint32_t)(method) << 24) | ((uint32_t)(in) << 16) | ((uint32_t)(out) << 8))
#define CDSP_DOMAIN 3
#define UNSIGNED_MODULE 8

#define FAIL(...)                                                                  \
    do {                                                                           \
        fprintf(stderr, "FAILED: " __VA_ARGS__);                                   \
        fprintf(stderr, " (errno %d %s)\n", errno, strerror(errno));              \
        exit(1);                                                                   \
    } while (0)

/* open_device_node(): the secure node first, the other on ENOENT/EACCES. */
static inline int open_node(const char *dom) {
    char secure[64], plain[64];
    snprintf(secure, sizeof secure, "/dev/fastrpc-%s-secure", dom);
    snprintf(plain, sizeof plain, "/dev/fastrpc-%s", dom);
    int fd = open(secure, O_NONBLOCK);
    if (fd < 0 && (errno == ENOENT || errno == EACCES)) fd = open(plain, O_NONBLOCK);
    if (fd < 0) FAIL("open %s", plain);
    return fd;
}

static inline uint32_t dsp_info_on(int fd, uint32_t attr) {
    struct fastrpc_ioctl_capability c = { .domain = CDSP_DOMAIN, .attribute_id = attr };
    if (ioctl(fd, FASTRPC_IOCTL_GET_DSP_INFO, &c) != 0) FAIL("GET_DSP_INFO %u", attr);
    return c.capability;
}

/* A probe on a temporary fd, as the library does for each attribute. */
static inline uint32_t dsp_info(const char *dom, uint32_t attr) {
    int fd = open_node(dom);
    uint32_t v = dsp_info_on(fd, attr);
    close(fd);
    return v;
}

/* DOMAIN_SUPPORT: stat /dev/subsys_<dom>, else the remoteproc names. */
static inline int domain_supported(const char *dom) {
    char path[64], line[64];
    struct stat sb;
    snprintf(path, sizeof path, "/dev/subsys_%s", dom);
    int by_stat = stat(path, &sb) == 0 && S_ISCHR(sb.st_mode);
    int found = -1;
    for (int i = 0; found < 0; i++) {
        snprintf(path, sizeof path, "/sys/class/remoteproc/remoteproc%d/name", i);
        int fd = open(path, O_RDONLY);
        if (fd == -1) break;
        FILE *f = fdopen(fd, "r");
        if (f) {
            if (fgets(line, sizeof line, f) && strstr(line, dom)) found = i;
            fclose(f);
        }
        close(fd); /* the library closes it again after fclose: EBADF, harmless */
    }
    printf("probe: /dev/subsys_%s %s, remoteproc%d names %s\n", dom, by_stat ? "is a device" : "missing", found, dom);
    return by_stat && found >= 0;
}

/* rpcmem: a dma-heap buffer, mapped. */
struct rpcmem { int fd; void *va; size_t len; };

static inline struct rpcmem rpcmem_alloc(int heap, size_t len) {
    struct dma_heap_allocation_data a = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };
    if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a) != 0) FAIL("DMA_HEAP_IOCTL_ALLOC %zu", len);
    void *va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, (int)a.fd, 0);
    if (va == MAP_FAILED) FAIL("mmap of the dma-buf");
    struct rpcmem m = { (int)a.fd, va, len };
    return m;
}

static inline void rpcmem_free(struct rpcmem *m) {
    munmap(m->va, m->len);
    close(m->fd);
}

static inline int invoke(int fd, uint32_t handle, uint32_t sc, struct fastrpc_invoke_args *args) {
    struct fastrpc_invoke inv = { .handle = handle, .sc = sc, .args = (uint64_t)(uintptr_t)args };
    return ioctl(fd, FASTRPC_IOCTL_INVOKE, &inv);
}

#define INLINE(p, n) { (uint64_t)(uintptr_t)(p), (n), -1, 0 }

/* INIT_CREATE with the unsigned shell from the working directory if there
 * is one (read into a dma-heap buffer), else with none. */
static inline void create_process(int fd, int heap, int *with_shell) {
    struct fastrpc_init_create c = { .filefd = -1, .attrs = UNSIGNED_MODULE };
    struct rpcmem shell = { -1, NULL, 0 };
    FILE *f = fopen("fastrpc_shell_unsigned_3", "r");
    *with_shell = f != NULL;
    if (f) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        rewind(f);
        shell = rpcmem_alloc(heap, (size_t)n);
        if (fread(shell.va, 1, (size_t)n, f) != (size_t)n) FAIL("reading the shell");
        fclose(f);
        c.filelen = (uint32_t)n;
        c.filefd = shell.fd;
        c.file = (uint64_t)(uintptr_t)shell.va;
    }
    int r = ioctl(fd, FASTRPC_IOCTL_INIT_CREATE, &c);
    if (r != 0) FAIL("INIT_CREATE (%s shell) = %d", *with_shell ? "with a" : "without a", r);
    if (shell.fd >= 0) rpcmem_free(&shell);
}

/* remotectl1 open1 (handle 8): the DSP's handle of the module. */
static inline uint32_t remotectl_open(int fd, const char *uri) {
    uint32_t in0[2] = { (uint32_t)strlen(uri) + 1, 256 };
    uint32_t out0[2] = { 0, 0 };
    char dlerr[256] = "";
    struct fastrpc_invoke_args a[4] = {
        INLINE(in0, 8), INLINE(uri, strlen(uri) + 1), INLINE(out0, 8), INLINE(dlerr, sizeof dlerr),
    };
    int r = invoke(fd, 8, SC(2, 2, 2), a);
    if (r != 0 || out0[1] != 0) {
        errno = 0;
        FAIL("remotectl1 open1 %s = 0x%x, dlerror 0x%x '%s'", uri, (unsigned)r, out0[1], dlerr);
    }
    return out0[0];
}

static inline void remotectl_close(int fd, uint32_t handle) {
    uint32_t in0[2] = { handle, 256 };
    uint32_t out0 = 0;
    char dlerr[256] = "";
    struct fastrpc_invoke_args a[3] = { INLINE(in0, 8), INLINE(&out0, 4), INLINE(dlerr, sizeof dlerr) };
    int r = invoke(fd, 8, SC(3, 1, 2), a);
    if (r != 0) {
        errno = 0;
        FAIL("remotectl1 close1 0x%x = 0x%x", handle, (unsigned)r);
    }
}

/* calculator sum (method 2) or max (method 3) over a vector in a dma-buf,
 * the buffer passed by fd as libfastrpc does for registered rpcmem. */
static inline int64_t calc(int fd, uint32_t handle, int method, struct rpcmem *v, uint32_t count) {
    int64_t out = 0;
    struct fastrpc_invoke_args a[3] = {
        INLINE(&count, 4),
        { (uint64_t)(uintptr_t)v->va, (uint64_t)count * 4, v->fd, 0 },
        INLINE(&out, method == 2 ? 8 : 4),
    };
    int r = invoke(fd, handle, SC(method, 2, 1), a);
    if (r != 0) {
        errno = 0;
        FAIL("calculator method %d on 0x%x = 0x%x", method, handle, (unsigned)r);
    }
    return method == 2 ? out : (int64_t)(int32_t)out;
}

/* adsp_current_process1 exit (handle 4): the DSP ends the listener's wait. */
static inline void process_exit(int fd) {
    int r = invoke(fd, 4, SC(2, 0, 0), NULL);
    if (r != 0) {
        errno = 0;
        FAIL("current_process1 exit = 0x%x", (unsigned)r);
    }
}

/* The listener thread: init2, then next2 until the process exits. */
struct listener { pthread_t t; int fd; volatile int started; int init2; int next2; };

static void *listener_main(void *p) {
    struct listener *l = p;
    l->init2 = invoke(l->fd, 7, SC(5, 0, 0), NULL);
    __atomic_store_n(&l->started, 1, __ATOMIC_RELEASE);
    if (l->init2 != 0) return NULL;
    uint32_t in0[4] = { 0, (uint32_t)-1, 0, 256 };
    uint32_t out0[4] = { 0 };
    char bufs[256];
    struct fastrpc_invoke_args a[4] = { INLINE(in0, 16), INLINE(bufs, 0), INLINE(out0, 16), INLINE(bufs, 256) };
    l->next2 = invoke(l->fd, 7, SC(6, 2, 2), a);
    return NULL;
}

static inline void listener_start(struct listener *l, int fd) {
    memset(l, 0, sizeof *l);
    l->fd = fd;
    if (pthread_create(&l->t, NULL, listener_main, l) != 0) FAIL("pthread_create");
    while (!__atomic_load_n(&l->started, __ATOMIC_ACQUIRE)) usleep(1000);
    if (l->init2 != 0) {
        errno = 0;
        FAIL("listener init2 = 0x%x", (unsigned)l->init2);
    }
}

static inline void listener_join(struct listener *l) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    if (pthread_timedjoin_np(l->t, NULL, &ts) != 0) {
        errno = 0;
        FAIL("the listener's next2 did not return after exit");
    }
    printf("listener: init2 0x%x, next2 returned 0x%x after exit\n", (unsigned)l->init2, (unsigned)l->next2);
}

#define CALC_URI "file:///libcalculator_skel.so?calculator_skel_handle_invoke&_modver=1.0&_dom=cdsp"

/* One session as remote_handle64_open brings it up (§B4), for `uses`. */
struct session { int fd; struct listener l; int with_shell; };

static inline void session_open(struct session *s, int heap) {
    dsp_info("cdsp", 131);
    s->fd = open_node("cdsp");
    create_process(s->fd, heap, &s->with_shell);
    dsp_info_on(s->fd, 129);
    listener_start(&s->l, s->fd);
}

static inline void session_close(struct session *s) {
    process_exit(s->fd);
    listener_join(&s->l);
    close(s->fd);
}
