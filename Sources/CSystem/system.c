#define _GNU_SOURCE
#include "CSystem.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

// Numbers from the unified syscall table that every architecture shares since Linux 5.1; the
// kernel headers of older distributions do not have them yet.
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif

const int kiln_o_path = O_PATH;
const int kiln_o_tmpfile = O_TMPFILE;
const int kiln_at_empty_path = AT_EMPTY_PATH;
const long kiln_utime_omit = UTIME_OMIT;
const unsigned int kiln_rename_noreplace = RENAME_NOREPLACE;
const unsigned int kiln_rename_exchange = RENAME_EXCHANGE;

int kiln_openat(int dirfd, const char *path, int flags, mode_t mode) {
    return openat(dirfd, path, flags, mode);
}

int kiln_is_mount_root(const char *path) {
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif
    struct statx status;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &status) != 0) {
        return -1;
    }
    if ((status.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) == 0) {
        errno = ENOSYS;
        return -1;
    }
    return (status.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0 ? 1 : 0;
}

int kiln_fchmodat2(int dirfd, const char *path, mode_t mode, unsigned int flags) {
    return (int)syscall(SYS_fchmodat2, dirfd, path, mode, flags);
}

// struct xattr_args of <linux/xattr.h> in Linux 6.13.
struct kiln_xattr_args {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

int kiln_setxattrat(int dirfd, const char *path, unsigned int at_flags, const char *name, const void *value,
                    size_t size, int flags) {
    struct kiln_xattr_args args = {(uint64_t)(uintptr_t)value, (uint32_t)size, (uint32_t)flags};
    return (int)syscall(SYS_setxattrat, dirfd, path, at_flags, name, &args, sizeof args);
}

ssize_t kiln_getxattrat(int dirfd, const char *path, unsigned int at_flags, const char *name, void *value,
                        size_t size) {
    struct kiln_xattr_args args = {(uint64_t)(uintptr_t)value, (uint32_t)size, 0};
    return (ssize_t)syscall(SYS_getxattrat, dirfd, path, at_flags, name, &args, sizeof args);
}

ssize_t kiln_listxattrat(int dirfd, const char *path, unsigned int at_flags, char *list, size_t size) {
    return (ssize_t)syscall(SYS_listxattrat, dirfd, path, at_flags, list, size);
}

int kiln_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

dev_t kiln_makedev(unsigned int major, unsigned int minor) {
    return makedev(major, minor);
}

unsigned int kiln_major(dev_t device) {
    return major(device);
}

unsigned int kiln_minor(dev_t device) {
    return minor(device);
}

int kiln_allowed_cpu_count(void) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    return CPU_COUNT(&allowed);
}

int kiln_pin_thread_to_allowed_cpu(int index) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    int count = CPU_COUNT(&allowed);
    if (count == 0 || index < 0) {
        errno = EINVAL;
        return -1;
    }
    int remaining = index % count;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (remaining-- > 0) continue;
        cpu_set_t single;
        CPU_ZERO(&single);
        CPU_SET(cpu, &single);
        return sched_setaffinity(0, sizeof single, &single);
    }
    errno = EINVAL;
    return -1;
}
