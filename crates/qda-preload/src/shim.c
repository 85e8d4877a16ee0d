/*
 * The interposed libc entry points of libqda_preload.so.
 *
 * Each function here asks the Rust side (src/ffi.rs, the qda_preload_*
 * functions) whether the call is one of the emulated board's: a device
 * node, a dma-heap, a probe file, a directory that lists them, or an fd
 * standing for an open device file. If it is, the Rust side serves it and
 * says so; otherwise the call goes on to the next definition of the symbol
 * (libc's), found with dlsym(RTLD_NEXT). C is needed only because `open`,
 * `ioctl` and `fcntl` are variadic; no decision is made here.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* What the Rust side answers: handled (1) or not (0); when handled, the
 * value the function returns, or errno when err != 0. */
struct qda_res {
    long value;
    int err;
};

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "one stat layout");
_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "one dirent layout");

int qda_preload_openat(int dirfd, const char *path, int flags, unsigned mode, struct qda_res *r);
int qda_preload_stat(int dirfd, const char *path, int flags, void *buf, struct qda_res *r);
int qda_preload_fstat(int fd, void *buf, struct qda_res *r);
int qda_preload_statx(int dirfd, const char *path, int flags, unsigned mask, void *buf, struct qda_res *r);
int qda_preload_access(int dirfd, const char *path, int mode, int flags, struct qda_res *r);
int qda_preload_opendir(const char *path, struct qda_res *r);
int qda_preload_is_dir(const void *dir);
void *qda_preload_readdir(void *dir);
int qda_preload_closedir(void *dir);
void qda_preload_rewinddir(void *dir);
int qda_preload_ioctl(int fd, unsigned long cmd, unsigned long arg, struct qda_res *r);
int qda_preload_close(int fd, struct qda_res *r);
int qda_preload_mmap(void *addr, size_t len, int prot, int flags, int fd, long off, struct qda_res *r);
int qda_preload_munmap(void *addr, size_t len, struct qda_res *r);
void qda_preload_dup(int oldfd, int newfd);
int qda_preload_fork(int (*real_fork)(void));

/* The next definition of `name`, resolved once. */
#define REAL(type, name, args)                                                       \
    static type(*real_##name) args;                                                  \
    do {                                                                             \
        if (!__atomic_load_n(&real_##name, __ATOMIC_ACQUIRE)) {                       \
            void *p = dlsym(RTLD_NEXT, #name);                                       \
            __atomic_store_n(&real_##name, (type(*) args)p, __ATOMIC_RELEASE);        \
        }                                                                            \
    } while (0)

#define MISSING(name)                                                                \
    do {                                                                             \
        if (!real_##name) {                                                          \
            errno = ENOSYS;                                                          \
            return -1;                                                               \
        }                                                                            \
    } while (0)

static long finish(const struct qda_res *r) {
    if (r->err) {
        errno = r->err;
        return -1;
    }
    return r->value;
}

static int has_mode(int flags) {
    return (flags & O_CREAT) || ((flags & O_TMPFILE) == O_TMPFILE);
}

/* ---- open ---------------------------------------------------------------- */

static int open_common(int dirfd, const char *path, int flags, unsigned mode) {
    struct qda_res r = {0, 0};
    if (qda_preload_openat(dirfd, path, flags, mode, &r))
        return (int)finish(&r);
    REAL(int, openat, (int, const char *, int, ...));
    MISSING(openat);
    return real_openat(dirfd, path, flags, mode);
}

int open(const char *path, int flags, ...) {
    unsigned mode = 0;
    if (has_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, unsigned);
        va_end(ap);
    }
    return open_common(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    unsigned mode = 0;
    if (has_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, unsigned);
        va_end(ap);
    }
    return open_common(AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
    unsigned mode = 0;
    if (has_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, unsigned);
        va_end(ap);
    }
    return open_common(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    unsigned mode = 0;
    if (has_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, unsigned);
        va_end(ap);
    }
    return open_common(dirfd, path, flags | O_LARGEFILE, mode);
}

/* The _FORTIFY_SOURCE variants (no mode: they are used without O_CREAT). */
int __open_2(const char *path, int flags) { return open_common(AT_FDCWD, path, flags, 0); }
int __open64_2(const char *path, int flags) { return open_common(AT_FDCWD, path, flags | O_LARGEFILE, 0); }
int __openat_2(int dirfd, const char *path, int flags) { return open_common(dirfd, path, flags, 0); }
int __openat64_2(int dirfd, const char *path, int flags) {
    return open_common(dirfd, path, flags | O_LARGEFILE, 0);
}

int creat(const char *path, mode_t mode) {
    return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}
int creat64(const char *path, mode_t mode) {
    return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode);
}

/* glibc's fopen opens with an internal call the shim cannot see. */
static int fopen_flags(const char *mode) {
    int flags;
    switch (mode[0]) {
    case 'r': flags = O_RDONLY; break;
    case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
    default: return -1;
    }
    for (const char *m = mode + 1; *m && *m != ','; m++) {
        if (*m == '+') flags = (flags & ~(O_RDONLY | O_WRONLY)) | O_RDWR;
        else if (*m == 'e') flags |= O_CLOEXEC;
        else if (*m == 'x') flags |= O_EXCL;
    }
    return flags;
}

static FILE *fopen_common(const char *path, const char *mode, const char *name) {
    struct qda_res r = {0, 0};
    int flags = mode ? fopen_flags(mode) : -1;
    if (flags >= 0 && qda_preload_openat(AT_FDCWD, path, flags, 0666, &r)) {
        int fd = (int)finish(&r);
        if (fd < 0) return NULL;
        FILE *f = fdopen(fd, mode);
        if (!f) {
            int e = errno;
            close(fd);
            errno = e;
        }
        return f;
    }
    FILE *(*real)(const char *, const char *) = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, name);
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    return real(path, mode);
}

FILE *fopen(const char *path, const char *mode) { return fopen_common(path, mode, "fopen"); }
FILE *fopen64(const char *path, const char *mode) { return fopen_common(path, mode, "fopen64"); }

/* ---- stat, access ---------------------------------------------------------- */

static int stat_common(int dirfd, const char *path, void *buf, int flags, int (*real)(int, const char *, struct stat *, int)) {
    struct qda_res r = {0, 0};
    if (qda_preload_stat(dirfd, path, flags, buf, &r))
        return (int)finish(&r);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(dirfd, path, buf, flags);
}

static int (*next_fstatat(void))(int, const char *, struct stat *, int) {
    REAL(int, fstatat, (int, const char *, struct stat *, int));
    return real_fstatat;
}

int stat(const char *path, struct stat *buf) { return stat_common(AT_FDCWD, path, buf, 0, next_fstatat()); }
int stat64(const char *path, struct stat64 *buf) {
    return stat_common(AT_FDCWD, path, buf, 0, next_fstatat());
}
int lstat(const char *path, struct stat *buf) {
    return stat_common(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW, next_fstatat());
}
int lstat64(const char *path, struct stat64 *buf) {
    return stat_common(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW, next_fstatat());
}
int fstatat(int dirfd, const char *path, struct stat *buf, int flags) {
    return stat_common(dirfd, path, buf, flags, next_fstatat());
}
int fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags) {
    return fstatat(dirfd, path, (struct stat *)buf, flags);
}

int fstat(int fd, struct stat *buf) {
    struct qda_res r = {0, 0};
    if (qda_preload_fstat(fd, buf, &r)) return (int)finish(&r);
    REAL(int, fstat, (int, struct stat *));
    MISSING(fstat);
    return real_fstat(fd, buf);
}
int fstat64(int fd, struct stat64 *buf) { return fstat(fd, (struct stat *)buf); }

/* Binaries built against glibc < 2.33 call these. */
int __xstat(int ver, const char *path, struct stat *buf) {
    (void)ver;
    return stat(path, buf);
}
int __xstat64(int ver, const char *path, struct stat64 *buf) {
    (void)ver;
    return stat64(path, buf);
}
int __lxstat(int ver, const char *path, struct stat *buf) {
    (void)ver;
    return lstat(path, buf);
}
int __lxstat64(int ver, const char *path, struct stat64 *buf) {
    (void)ver;
    return lstat64(path, buf);
}
int __fxstat(int ver, int fd, struct stat *buf) {
    (void)ver;
    return fstat(fd, buf);
}
int __fxstat64(int ver, int fd, struct stat64 *buf) {
    (void)ver;
    return fstat64(fd, buf);
}
int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags) {
    (void)ver;
    return fstatat(dirfd, path, buf, flags);
}
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags) {
    (void)ver;
    return fstatat64(dirfd, path, buf, flags);
}

int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *buf) {
    struct qda_res r = {0, 0};
    if (qda_preload_statx(dirfd, path, flags, mask, buf, &r)) return (int)finish(&r);
    REAL(int, statx, (int, const char *, int, unsigned, struct statx *));
    MISSING(statx);
    return real_statx(dirfd, path, flags, mask, buf);
}

int faccessat(int dirfd, const char *path, int mode, int flags) {
    struct qda_res r = {0, 0};
    if (qda_preload_access(dirfd, path, mode, flags, &r)) return (int)finish(&r);
    REAL(int, faccessat, (int, const char *, int, int));
    MISSING(faccessat);
    return real_faccessat(dirfd, path, mode, flags);
}
int access(const char *path, int mode) { return faccessat(AT_FDCWD, path, mode, 0); }
int euidaccess(const char *path, int mode) { return faccessat(AT_FDCWD, path, mode, AT_EACCESS); }
int eaccess(const char *path, int mode) { return faccessat(AT_FDCWD, path, mode, AT_EACCESS); }

/* ---- directories ----------------------------------------------------------- */

DIR *opendir(const char *path) {
    struct qda_res r = {0, 0};
    if (qda_preload_opendir(path, &r)) {
        if (r.err) {
            errno = r.err;
            return NULL;
        }
        return (DIR *)r.value;
    }
    REAL(DIR *, opendir, (const char *));
    if (!real_opendir) {
        errno = ENOSYS;
        return NULL;
    }
    return real_opendir(path);
}

struct dirent *readdir(DIR *d) {
    if (qda_preload_is_dir(d)) return (struct dirent *)qda_preload_readdir(d);
    REAL(struct dirent *, readdir, (DIR *));
    return real_readdir ? real_readdir(d) : NULL;
}

struct dirent64 *readdir64(DIR *d) {
    if (qda_preload_is_dir(d)) return (struct dirent64 *)qda_preload_readdir(d);
    REAL(struct dirent64 *, readdir64, (DIR *));
    return real_readdir64 ? real_readdir64(d) : NULL;
}

int closedir(DIR *d) {
    if (qda_preload_is_dir(d)) return qda_preload_closedir(d);
    REAL(int, closedir, (DIR *));
    MISSING(closedir);
    return real_closedir(d);
}

void rewinddir(DIR *d) {
    if (qda_preload_is_dir(d)) {
        qda_preload_rewinddir(d);
        return;
    }
    REAL(void, rewinddir, (DIR *));
    if (real_rewinddir) real_rewinddir(d);
}

int dirfd(DIR *d) {
    if (qda_preload_is_dir(d)) {
        /* A listing of the emulated board has no directory fd. */
        errno = ENOTSUP;
        return -1;
    }
    REAL(int, dirfd, (DIR *));
    MISSING(dirfd);
    return real_dirfd(d);
}

/* ---- device files ---------------------------------------------------------- */

int ioctl(int fd, unsigned long cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    struct qda_res r = {0, 0};
    if (qda_preload_ioctl(fd, cmd, arg, &r)) return (int)finish(&r);
    REAL(int, ioctl, (int, unsigned long, ...));
    MISSING(ioctl);
    return real_ioctl(fd, cmd, arg);
}

int close(int fd) {
    /* The device file is released (if this was its last fd) and the fd
     * closed by libc; a backend's own fd is not the program's to close. */
    struct qda_res r = {0, 0};
    if (qda_preload_close(fd, &r)) return (int)finish(&r);
    REAL(int, close, (int));
    MISSING(close);
    return real_close(fd);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    struct qda_res r = {0, 0};
    if (fd >= 0 && qda_preload_mmap(addr, len, prot, flags, fd, (long)off, &r)) {
        if (r.err) {
            errno = r.err;
            return MAP_FAILED;
        }
        return (void *)r.value;
    }
    REAL(void *, mmap, (void *, size_t, int, int, int, off_t));
    if (!real_mmap) {
        errno = ENOSYS;
        return MAP_FAILED;
    }
    return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off) {
    return mmap(addr, len, prot, flags, fd, (off_t)off);
}

int munmap(void *addr, size_t len) {
    struct qda_res r = {0, 0};
    if (qda_preload_munmap(addr, len, &r)) return (int)finish(&r);
    REAL(int, munmap, (void *, size_t));
    MISSING(munmap);
    return real_munmap(addr, len);
}

int dup(int fd) {
    REAL(int, dup, (int));
    MISSING(dup);
    int n = real_dup(fd);
    if (n >= 0) qda_preload_dup(fd, n);
    return n;
}

int dup2(int fd, int newfd) {
    REAL(int, dup2, (int, int));
    MISSING(dup2);
    int n = real_dup2(fd, newfd);
    if (n >= 0 && fd != newfd) qda_preload_dup(fd, n);
    return n;
}

int dup3(int fd, int newfd, int flags) {
    REAL(int, dup3, (int, int, int));
    MISSING(dup3);
    int n = real_dup3(fd, newfd, flags);
    if (n >= 0) qda_preload_dup(fd, n);
    return n;
}

static int fcntl_common(int fd, int cmd, unsigned long arg, const char *name) {
    int (*real)(int, int, ...) = (int (*)(int, int, ...))dlsym(RTLD_NEXT, name);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int n = real(fd, cmd, arg);
    if (n >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) qda_preload_dup(fd, n);
    return n;
}

int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return fcntl_common(fd, cmd, arg, "fcntl");
}

int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return fcntl_common(fd, cmd, arg, "fcntl64");
}

/* ---- processes ------------------------------------------------------------- */

static int next_fork(void) {
    REAL(pid_t, fork, (void));
    if (!real_fork) {
        errno = ENOSYS;
        return -1;
    }
    return real_fork();
}

pid_t fork(void) { return qda_preload_fork(next_fork); }
