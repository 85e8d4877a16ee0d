/*
 * The calculator skel, as a Hexagon SDK example would be on the DSP:
 * method 0 open, 1 close, 2 sum(in u32 count, in int32[count], out int64),
 * 3 max(in u32 count, in int32[count], out int32). Written for qda from the
 * calling convention (remote.h LP64 layouts); not derived from any skel
 * source.
 */
#define _GNU_SOURCE /* prlimit, process_vm_readv */
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

typedef struct { void *pv; size_t nLen; } remote_buf;
typedef union { remote_buf buf; uint32_t h; uint64_t h64; } remote_arg;

#define AEE_EOFFSET 0x80000400u
#define AEE_EBADPARM (AEE_EOFFSET + 0x00E)
#define AEE_EUNSUPPORTED (AEE_EOFFSET + 0x014)

#define SC_METHOD(sc) (((sc) >> 24) & 0x1f)
#define SC_INBUFS(sc) (((sc) >> 16) & 0xff)
#define SC_OUTBUFS(sc) (((sc) >> 8) & 0xff)
#define SC_INHANDLES(sc) (((sc) >> 4) & 0x0f)
#define SC_OUTHANDLES(sc) ((sc) & 0x0f)

static uint64_t next_handle = 0x1000;

static int check_vec(remote_arg *pra, uint32_t *count) {
    if (pra[0].buf.nLen != 4)
        return AEE_EBADPARM;
    memcpy(count, pra[0].buf.pv, 4);
    if (pra[1].buf.nLen != (size_t)*count * 4)
        return AEE_EBADPARM;
    return 0;
}

int calculator_skel_handle_invoke(uint64_t h, uint32_t sc, remote_arg *pra) {
    uint32_t count;
    int err;
    (void)h;
    switch (SC_METHOD(sc)) {
    case 0: /* open(uri) -> handle */
        if (SC_INBUFS(sc) != 2 || SC_OUTHANDLES(sc) != 1)
            return AEE_EBADPARM;
        pra[2].h64 = __atomic_fetch_add(&next_handle, 1, __ATOMIC_RELAXED);
        return 0;
    case 1: /* close(handle) */
        return 0;
    case 2: { /* sum */
        const int32_t *v;
        int64_t s = 0;
        if (sc != 0x02020100u || (err = check_vec(pra, &count)))
            return AEE_EBADPARM;
        if (pra[2].buf.nLen != 8)
            return AEE_EBADPARM;
        v = (const int32_t *)pra[1].buf.pv;
        for (uint32_t i = 0; i < count; i++)
            s += v[i];
        memcpy(pra[2].buf.pv, &s, 8);
        return 0;
    }
    case 3: { /* max */
        const int32_t *v;
        int32_t m = INT32_MIN;
        if (sc != 0x03020100u || (err = check_vec(pra, &count)))
            return AEE_EBADPARM;
        if (pra[2].buf.nLen != 4)
            return AEE_EBADPARM;
        v = (const int32_t *)pra[1].buf.pv;
        for (uint32_t i = 0; i < count; i++)
            if (v[i] > m)
                m = v[i];
        memcpy(pra[2].buf.pv, &m, 4);
        return 0;
    }
    default:
        return AEE_EUNSUPPORTED;
    }
}

/* Test helper entry points for qda's own tests, in the same library:
 * 2 crash (a PD crash), 3 echo in0 to out0, 4 barrier (in0 = u32 target:
 * wait until that many callers are inside, out0 = u32 count seen),
 * 5 reset the barrier, 6 where (in0 = buffer; out0 = u64 address the skel
 * sees it at, u64 its first 8 bytes), 7 probe (in0 = u32 which: what a
 * hostile skel tries against its parent, the DSP; out0 = i32 errno of the
 * attempt, 0 if it succeeded), 8 ids (out0 = i32 pid, ppid, sid, pgid),
 * 9 linger (the PD's exit() then never ends: only a signal ends it),
 * 10 open (in0 = u32 open flags, in1 = the path, without NUL; out0 = i32
 * errno of open(path, flags), 0 if it opened: what a hostile skel tries
 * against its parent's /proc entries and the file system). */
static uint32_t barrier_count;

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static void linger(void) {
    for (;;)
        pause();
}

/* Probes 0..15 target the parent (or everyone); 16.. this process. */
static int probe(uint32_t which) {
    pid_t parent = getppid(), self = getpid();
    long r;
    int fds[2];
    struct rlimit rl;
    errno = 0;
    switch (which) {
    case 0: /* the finding: kill the daemon */
        r = kill(parent, SIGKILL);
        break;
    case 1:
        r = ptrace(PTRACE_ATTACH, parent, NULL, NULL);
        if (r == 0) { /* let it go again: wait for its stop, detach */
            int st;
            waitpid(parent, &st, __WALL);
            ptrace(PTRACE_DETACH, parent, NULL, NULL);
        }
        break;
    case 2: /* every process of the user, signal 0: a harmless probe */
        r = kill(-1, 0);
        break;
    case 3:
        r = syscall(SYS_tgkill, parent, parent, 0);
        break;
    case 4: {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_code = SI_QUEUE;
        si.si_pid = self;
        si.si_uid = getuid();
        r = syscall(SYS_rt_sigqueueinfo, parent, 0, &si);
        break;
    }
    case 5: {
        char b;
        struct iovec local = {&b, 1}, remote = {&b, 1};
        r = process_vm_readv(parent, &local, 1, &remote, 1, 0);
        break;
    }
    case 6: /* setting the parent's limits (here: to what they are) */
        if (prlimit(parent, RLIMIT_CORE, NULL, &rl) != 0)
            return errno;
        r = prlimit(parent, RLIMIT_CORE, &rl, NULL);
        break;
    case 7: /* SIGIO (or F_SETSIG's signal) to the parent */
        if (pipe(fds) != 0)
            return errno;
        r = fcntl(fds[0], F_SETOWN, parent);
        {
            int e = errno;
            close(fds[0]);
            close(fds[1]);
            errno = e;
        }
        break;
    case 8: {
        int pidfd = (int)syscall(SYS_pidfd_open, parent, 0);
        if (pidfd < 0)
            return errno;
        r = syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0);
        {
            int e = errno;
            close(pidfd);
            errno = e;
        }
        break;
    }
    case 16:
        r = kill(self, 0);
        break;
    case 17:
        r = kill(0, 0);
        break;
    case 18:
        r = syscall(SYS_tgkill, self, (pid_t)syscall(SYS_gettid), 0);
        break;
    case 19:
        if (pipe(fds) != 0)
            return errno;
        r = fcntl(fds[0], F_SETOWN, self);
        close(fds[0]);
        close(fds[1]);
        break;
    case 20: /* reading the parent's limits */
        r = prlimit(parent, RLIMIT_CORE, NULL, &rl);
        break;
    case 21:
        r = prlimit(0, RLIMIT_CORE, NULL, &rl) == 0 ? setrlimit(RLIMIT_CORE, &rl) : -1;
        break;
    default:
        return EINVAL;
    }
    return r < 0 ? errno : 0;
}

int qdatest_skel_handle_invoke(uint64_t h, uint32_t sc, remote_arg *pra) {
    (void)h;
    switch (SC_METHOD(sc)) {
    case 0:
        pra[2].h64 = 0x2000;
        return 0;
    case 1:
        return 0;
    case 2:
        *(volatile int *)0 = 1; /* segfault */
        return 0;
    case 3:
        if (pra[1].buf.nLen < pra[0].buf.nLen)
            return AEE_EBADPARM;
        memcpy(pra[1].buf.pv, pra[0].buf.pv, pra[0].buf.nLen);
        return 0;
    case 4: {
        uint32_t target, seen;
        struct timespec ts = {0, 1000000};
        if (pra[0].buf.nLen != 4 || pra[1].buf.nLen != 4)
            return AEE_EBADPARM;
        memcpy(&target, pra[0].buf.pv, 4);
        seen = __atomic_add_fetch(&barrier_count, 1, __ATOMIC_SEQ_CST);
        for (int i = 0; i < 30000 && __atomic_load_n(&barrier_count, __ATOMIC_SEQ_CST) < target; i++)
            nanosleep(&ts, NULL);
        seen = __atomic_load_n(&barrier_count, __ATOMIC_SEQ_CST);
        memcpy(pra[1].buf.pv, &seen, 4);
        return seen >= target ? 0 : (int)(AEE_EOFFSET + 0x00D);
    }
    case 5:
        __atomic_store_n(&barrier_count, 0, __ATOMIC_SEQ_CST);
        return 0;
    case 6: {
        uint64_t where[2] = {(uint64_t)(uintptr_t)pra[0].buf.pv, 0};
        if (pra[1].buf.nLen != 16)
            return AEE_EBADPARM;
        memcpy(&where[1], pra[0].buf.pv, pra[0].buf.nLen < 8 ? pra[0].buf.nLen : 8);
        memcpy(pra[1].buf.pv, where, 16);
        return 0;
    }
    case 7: {
        uint32_t which;
        int32_t err;
        if (pra[0].buf.nLen != 4 || pra[1].buf.nLen != 4)
            return AEE_EBADPARM;
        memcpy(&which, pra[0].buf.pv, 4);
        err = probe(which);
        memcpy(pra[1].buf.pv, &err, 4);
        return 0;
    }
    case 8: {
        int32_t ids[4] = {getpid(), getppid(), getsid(0), getpgid(0)};
        if (pra[0].buf.nLen != 16)
            return AEE_EBADPARM;
        memcpy(pra[0].buf.pv, ids, 16);
        return 0;
    }
    case 9:
        return atexit(linger) == 0 ? 0 : (int)AEE_EBADPARM;
    case 10: {
        uint32_t flags;
        char path[4096];
        int32_t err = 0;
        int fd;
        if (pra[0].buf.nLen != 4 || pra[1].buf.nLen >= sizeof path || pra[2].buf.nLen != 4)
            return AEE_EBADPARM;
        memcpy(&flags, pra[0].buf.pv, 4);
        memcpy(path, pra[1].buf.pv, pra[1].buf.nLen);
        path[pra[1].buf.nLen] = 0;
        fd = open(path, (int)flags | O_CLOEXEC);
        if (fd < 0)
            err = errno;
        else
            close(fd);
        memcpy(pra[2].buf.pv, &err, 4);
        return 0;
    }
    default:
        return AEE_EUNSUPPORTED;
    }
}

/* An old-style entry point, `<X>_skel_invoke(sc, pra)` without a handle:
 * method 2 adds the two u32 inputs into the u32 output. */
int qdaplain_skel_invoke(uint32_t sc, remote_arg *pra) {
    uint32_t a, b, s;
    switch (SC_METHOD(sc)) {
    case 0:
        pra[2].h64 = 0x3000;
        return 0;
    case 1:
        return 0;
    case 2:
        if (pra[0].buf.nLen != 4 || pra[1].buf.nLen != 4 || pra[2].buf.nLen != 4)
            return AEE_EBADPARM;
        memcpy(&a, pra[0].buf.pv, 4);
        memcpy(&b, pra[1].buf.pv, 4);
        s = a + b;
        memcpy(pra[2].buf.pv, &s, 4);
        return 0;
    default:
        return AEE_EUNSUPPORTED;
    }
}
