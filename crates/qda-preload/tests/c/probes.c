/*
 * probes: what a program finds on the board under the shim, one line per
 * check ("ok: ..." or "BAD: ..."), and the shim's answers to bad input.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int bad = 0;
#define CHECK(cond, ...)                                                           \
    do {                                                                           \
        int ok_ = (cond);                                                          \
        printf("%s: ", ok_ ? "ok" : "BAD");                                       \
        printf(__VA_ARGS__);                                                       \
        printf(" (errno %d)\n", errno);                                            \
        if (!ok_) bad = 1;                                                         \
        errno = 0;                                                                 \
    } while (0)

static int listed(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, name) == 0) found = 1;
    rewinddir(d);
    int again = readdir(d) != NULL;
    closedir(d);
    return found && again;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct stat sb;
    CHECK(stat("/dev/fastrpc-cdsp", &sb) == 0 && S_ISCHR(sb.st_mode), "stat /dev/fastrpc-cdsp is a char device");
    CHECK(lstat("/dev/../dev//accel/./accel1", &sb) == 0 && S_ISCHR(sb.st_mode), "lstat of an unnormalized accel path");
    CHECK(stat("/dev/accel", &sb) == 0 && S_ISDIR(sb.st_mode), "/dev/accel is a directory");
    CHECK(stat("/dev/subsys_cdsp", &sb) == 0 && S_ISCHR(sb.st_mode), "stat /dev/subsys_cdsp");
    CHECK(stat("/dev/fastrpc-nosuch", &sb) == -1 && errno == ENOENT, "a node the board lacks is ENOENT");
    CHECK(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode), "/dev/null is the host's");
    struct statx sx;
    CHECK(statx(AT_FDCWD, "/dev/dma_heap/system", 0, STATX_BASIC_STATS, &sx) == 0 && S_ISCHR(sx.stx_mode),
          "statx /dev/dma_heap/system");
    CHECK(access("/dev/fastrpc-cdsp", R_OK | W_OK) == 0, "access rw /dev/fastrpc-cdsp");
    CHECK(faccessat(AT_FDCWD, "/sys/class/remoteproc/remoteproc0/name", W_OK, 0) == -1 && errno == EACCES,
          "a probe file is read-only");
    CHECK(listed("/dev", "fastrpc-cdsp") && listed("/dev", "null"), "/dev lists the board's nodes and the host's");
    CHECK(listed("/dev/accel", "accel0"), "/dev/accel lists accel0");
    CHECK(listed("/dev/dma_heap", "system"), "/dev/dma_heap lists system");
    CHECK(listed("/sys/class/remoteproc", "remoteproc0"), "/sys/class/remoteproc lists remoteproc0");

    char line[128] = "";
    FILE *f = fopen("/sys/firmware/devicetree/base/model", "re");
    CHECK(f && fgets(line, sizeof line, f) && strstr(line, "qda"), "fopen of the devicetree model: %s", line);
    if (f) fclose(f);
    int fd = open("/sys/class/remoteproc/remoteproc0/name", O_RDWR);
    CHECK(fd == -1 && errno == EACCES, "a probe file refuses writing");

    /* Bad input: never a crash. */
    CHECK(open((const char *)8, O_RDONLY) == -1 && errno == EFAULT, "open of a bad pointer is EFAULT");
    CHECK(stat("/dev/fastrpc-cdsp", (struct stat *)8) == -1 && errno == EFAULT, "stat into a bad buffer is EFAULT");
    int dev = open("/dev/fastrpc-cdsp", O_RDONLY | O_NONBLOCK);
    CHECK(dev >= 0, "open /dev/fastrpc-cdsp");
    CHECK(fstat(dev, &sb) == 0 && S_ISCHR(sb.st_mode), "fstat of the device fd");
    CHECK(fcntl(dev, F_GETFD) == 0, "no O_CLOEXEC unless asked");
    CHECK(ioctl(dev, _IOWR('R', 13, char[28]), (void *)8) == -1 && errno == EFAULT,
          "GET_DSP_INFO with a bad pointer is EFAULT");
    CHECK(ioctl(dev, _IO('Z', 99), 0) == -1 && errno == ENOTTY, "an unknown ioctl is ENOTTY");
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, dev, 0) == MAP_FAILED && errno == EINVAL,
          "MAP_FIXED of a device file is refused");
    int d2 = dup2(dev, 50);
    CHECK(d2 == 50 && close(dev) == 0 && ioctl(50, _IO('Z', 99), 0) == -1 && errno == ENOTTY,
          "dup2 keeps the file after the first fd closes");
    CHECK(close(50) == 0 && ioctl(50, _IO('Z', 99), 0) == -1 && errno == EBADF, "closed: EBADF");
    CHECK(open("/dev/fastrpc-cdsp", O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR, "O_DIRECTORY of a node");
    return bad;
}
