#ifndef KILN_CSYSTEM_H
#define KILN_CSYSTEM_H

#include <stdint.h>
#include <sys/types.h>

// Thin wrappers over Linux system calls that glibc does not wrap, or wraps as variadic
// functions, which Swift cannot call.

/// openat2(2) with the given flags, mode and RESOLVE_* bits. Returns the new descriptor, or -1
/// with errno set (ENOSYS on kernels before 5.6).
int kiln_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

/// The RESOLVE_* constants of <linux/openat2.h>.
extern const uint64_t kiln_resolve_in_root;
extern const uint64_t kiln_resolve_no_magiclinks;
extern const uint64_t kiln_resolve_no_symlinks;
extern const uint64_t kiln_resolve_beneath;
extern const uint64_t kiln_resolve_no_xdev;

// Runtime helpers (console sockets, subreaper, terminal sizes) used by KilnRuntime.
#include "kiln_runtime.h"

#endif
