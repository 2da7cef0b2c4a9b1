#define _GNU_SOURCE
#include "CSystem.h"

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
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}
