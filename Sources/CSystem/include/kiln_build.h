#ifndef KILN_BUILD_H
#define KILN_BUILD_H

#include <stdint.h>
#include <sys/types.h>

// Helpers for KilnSnapshot and KilnBuild: calls that glibc declares only under _GNU_SOURCE or
// does not wrap.

/// copy_file_range(2) between the current offsets of two descriptors.
ssize_t kiln_copy_file_range(int input, int output, size_t length);

/// The new mount API (Linux 5.2): fsopen, fsconfig with a string value, fsconfig's create
/// command, fsmount and move_mount to a path. Each returns -1 with errno set on failure.
int kiln_fsopen(const char *filesystem);
int kiln_fsconfig_string(int context, const char *key, const char *value);
int kiln_fsconfig_flag(int context, const char *key);
int kiln_fsconfig_create(int context);
int kiln_fsmount(int context, int read_only);
int kiln_move_mount(int mount, const char *target);

/// Installs a handler for `signals` that writes each arriving signal's number as one byte to
/// a pipe, and returns the pipe's read end (close-on-exec), or -1 with errno set. The handler is
/// a caught signal, so children started with exec get the default action again. One set of
/// signals at a time; `kiln_interrupt_restore` puts the previous handlers back.
int kiln_interrupt_install(const int *signals, int count);
void kiln_interrupt_restore(void);

#endif
