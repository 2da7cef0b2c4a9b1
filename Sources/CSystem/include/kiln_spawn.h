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

/// Starts `path` with `argv` and `envp` (both NULL-terminated) in a new session, with standard
/// input, output and error on `null_fd` and no other descriptor. Returns its pid without waiting
/// for the exec, which posix_spawn waits for (up to 1.7 ms under load here). Returns -1 with
/// errno set when the child cannot be made. An exec that fails ends the child with status 127,
/// which the caller does not learn.
///
/// The child shares the caller's memory until its exec, so everything it reads is copied into
/// a mapping of its own first, which stays mapped. It resets every signal handler and unblocks
/// every signal just before the exec. Nothing waits for it; init reaps it.
pid_t kiln_spawn_unwaited(const char *path, char *const argv[], char *const envp[], int null_fd);

#endif
