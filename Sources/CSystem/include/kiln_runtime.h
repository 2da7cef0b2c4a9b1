#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <stdint.h>
#include <sys/types.h>

// Helpers for KilnRuntime: constants that need _GNU_SOURCE and calls that glibc declares as
// variadic functions or macros, which Swift cannot call.

/// pipe2(fds, O_CLOEXEC); returns 0, or -1 with errno set.
int kiln_pipe_cloexec(int fds[2]);

/// eventfd(0, EFD_CLOEXEC); returns the descriptor, or -1 with errno set.
int kiln_eventfd_cloexec(void);

/// accept4(socket, NULL, NULL, SOCK_CLOEXEC); returns the connection, or -1 with errno set.
int kiln_accept_cloexec(int socket);

/// Installs a handler for each of `signals` that sends the signal on to process `target` with
/// kill(2), which is async-signal-safe. One target per process: a second call replaces the
/// target. Returns 0, or -1 with errno set.
int kiln_forward_signals(pid_t target, const int *signals, int count);

/// Restores the dispositions that `kiln_forward_signals` replaced and clears the target.
void kiln_stop_forwarding_signals(void);

/// The number of signals forwarded since the process started, so that a foreground monitor can
/// tell a container the user stopped from one that exited by itself.
long kiln_forwarded_signal_count(void);

/// Receives one file descriptor sent with SCM_RIGHTS on a connected unix socket. The new
/// descriptor has O_CLOEXEC set. Returns it, or -1 with errno set (EBADMSG when the message
/// carried no descriptor).
int kiln_receive_fd(int socket);

/// Makes the calling process a child subreaper (PR_SET_CHILD_SUBREAPER), so that orphaned
/// descendants such as a container's init after `runc create` are re-parented to it.
int kiln_set_child_subreaper(void);

/// Creates a network namespace with its loopback interface up, and returns a descriptor of it
/// (O_CLOEXEC) that keeps the namespace alive, or -1 with errno set. The work happens on a
/// thread of its own, so the caller's namespaces stay as they were. Needs CAP_SYS_ADMIN and
/// CAP_NET_ADMIN.
int kiln_new_network_namespace(void);

/// The window size of a terminal (TIOCGWINSZ); returns 0, or -1 with errno set.
int kiln_get_window_size(int fd, uint16_t *rows, uint16_t *columns);

/// Sets the window size of a terminal (TIOCSWINSZ); returns 0, or -1 with errno set.
int kiln_set_window_size(int fd, uint16_t rows, uint16_t columns);

/// Moves the calling thread into a mount namespace of its own (unshare(2) with CLONE_NEWNS)
/// and makes every mount in it a slave of the original, so that mounts made there never reach
/// the host. Other threads of the process keep the host's namespace. Returns 0, or -1 with
/// errno set.
int kiln_unshare_mount_namespace(void);

#endif
