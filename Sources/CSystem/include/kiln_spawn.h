#ifndef KILN_SPAWN_H
#define KILN_SPAWN_H

#include <sys/types.h>

// posix_spawn extensions that glibc declares only under _GNU_SOURCE, for KilnSystem's ChildProcess.

/// Adds a close-from action to posix_spawn file actions (glibc 2.34+), so the child starts with
/// no descriptor at or above `low` except those that later dup2 actions create.
int kiln_spawn_add_close_from(void *actions, int low);

/// Adds a chdir action to posix_spawn file actions (glibc 2.29+). Actions run in the order they
/// were added, so a relative executable path given to posix_spawn is resolved after it.
int kiln_spawn_add_chdir(void *actions, const char *path);

/// POSIX_SPAWN_SETSID (glibc 2.26+): the child starts a new session.
extern const short kiln_spawn_setsid;

/// pidfd_open(2) (Linux 5.3+): a close-on-exec descriptor that polls readable once process `pid`
/// has ended. Returns -1 with errno set, ENOSYS on older kernels.
int kiln_pidfd_open(pid_t pid);

#endif
