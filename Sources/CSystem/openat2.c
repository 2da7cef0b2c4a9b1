#define _GNU_SOURCE
#include "CSystem.h"

#include <errno.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

const uint64_t kiln_resolve_in_root = RESOLVE_IN_ROOT;
const uint64_t kiln_resolve_no_magiclinks = RESOLVE_NO_MAGICLINKS;
const uint64_t kiln_resolve_no_symlinks = RESOLVE_NO_SYMLINKS;
const uint64_t kiln_resolve_beneath = RESOLVE_BENEATH;
const uint64_t kiln_resolve_no_xdev = RESOLVE_NO_XDEV;

int kiln_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    // With RESOLVE_IN_ROOT or RESOLVE_BENEATH, a ".." in the path or in a symlink's target (an
    // image's /usr/sbin/ip -> ../../bin/busybox) fails with EAGAIN whenever a rename or mount
    // anywhere on the host ran during the lookup. The openat2(2) manual lets the caller retry.
    int fd = -1;
    for (int attempt = 0; attempt < 256; attempt++) {
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0 || (errno != EAGAIN && errno != EINTR)) break;
    }
    return fd;
}
