#ifndef KILN_CSYSTEM_H
#define KILN_CSYSTEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/xattr.h>

// Thin wrappers over Linux system calls that glibc does not wrap, or wraps as variadic
// functions, which Swift cannot call.

/// openat2(2) with the given flags, mode and RESOLVE_* bits. Returns the new descriptor, or -1
/// with errno set (ENOSYS on kernels before 5.6). Tries again when a rename or mount elsewhere
/// raced with the lookup (EAGAIN), up to 256 times.
int kiln_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

/// The RESOLVE_* constants of <linux/openat2.h>.
extern const uint64_t kiln_resolve_in_root;
extern const uint64_t kiln_resolve_no_magiclinks;
extern const uint64_t kiln_resolve_no_symlinks;
extern const uint64_t kiln_resolve_beneath;
extern const uint64_t kiln_resolve_no_xdev;

/// openat(2) with a mode argument, because glibc declares openat as variadic.
int kiln_openat(int dirfd, const char *path, int flags, mode_t mode);

/// fchmodat2(2) (Linux 6.6), which honours AT_SYMLINK_NOFOLLOW. -1 with ENOSYS on older kernels.
int kiln_fchmodat2(int dirfd, const char *path, mode_t mode, unsigned int flags);

/// setxattrat(2) (Linux 6.13): set an extended attribute of `path` relative to `dirfd`, on a
/// symbolic link itself when `at_flags` has AT_SYMLINK_NOFOLLOW. -1 with ENOSYS on older kernels.
int kiln_setxattrat(int dirfd, const char *path, unsigned int at_flags, const char *name, const void *value,
                    size_t size, int flags);

/// getxattrat(2) and listxattrat(2) (Linux 6.13), the reading counterparts of setxattrat.
ssize_t kiln_getxattrat(int dirfd, const char *path, unsigned int at_flags, const char *name, void *value,
                        size_t size);
ssize_t kiln_listxattrat(int dirfd, const char *path, unsigned int at_flags, char *list, size_t size);

/// renameat2(2), which glibc 2.28 declares only under _GNU_SOURCE.
int kiln_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

/// Returns 1 when `path` is the root of a mount, 0 when it is not, and -1 with errno set when
/// statx(2) fails or the kernel does not report STATX_ATTR_MOUNT_ROOT (before Linux 5.8, errno
/// ENOSYS). Does not follow a final symlink.
int kiln_is_mount_root(const char *path);

/// makedev(3), major(3) and minor(3), which are macros.
dev_t kiln_makedev(unsigned int major, unsigned int minor);
unsigned int kiln_major(dev_t device);
unsigned int kiln_minor(dev_t device);

/// The number of CPUs in the calling thread's affinity mask (sched_getaffinity(2)), or -1 with
/// errno set.
int kiln_allowed_cpu_count(void);

/// Restricts the calling thread to one CPU of its affinity mask: the one at `index` modulo the
/// mask's CPU count, counting from the lowest CPU number. Returns 0, or -1 with errno set.
int kiln_pin_thread_to_allowed_cpu(int index);

/// Constants that <fcntl.h> and <sys/stat.h> define only under _GNU_SOURCE.
extern const int kiln_o_path;
extern const int kiln_o_tmpfile;
extern const int kiln_at_empty_path;
extern const long kiln_utime_omit;
extern const unsigned int kiln_rename_noreplace;
extern const unsigned int kiln_rename_exchange;

// posix_spawn extensions used by KilnSystem's ChildProcess.
#include "kiln_spawn.h"

// Runtime helpers (console sockets, subreaper, terminal sizes, signal forwarding) used by KilnRuntime.
#include "kiln_runtime.h"

// Copy and mount helpers used by KilnSnapshot and KilnBuild.
#include "kiln_build.h"

#endif
