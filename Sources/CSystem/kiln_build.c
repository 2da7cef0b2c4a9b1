#define _GNU_SOURCE
#include "kiln_build.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

ssize_t kiln_copy_file_range(int input, int output, size_t length) {
    return copy_file_range(input, NULL, output, NULL, length, 0);
}

int kiln_fsopen(const char *filesystem) {
    return (int)syscall(SYS_fsopen, filesystem, FSOPEN_CLOEXEC);
}

int kiln_fsconfig_string(int context, const char *key, const char *value) {
    return (int)syscall(SYS_fsconfig, context, FSCONFIG_SET_STRING, key, value, 0);
}

int kiln_fsconfig_flag(int context, const char *key) {
    return (int)syscall(SYS_fsconfig, context, FSCONFIG_SET_FLAG, key, NULL, 0);
}

int kiln_fsconfig_create(int context) {
    return (int)syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
}

int kiln_fsmount(int context, int read_only) {
    return (int)syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC, read_only ? MOUNT_ATTR_RDONLY : 0);
}

int kiln_move_mount(int mount, const char *target) {
    return (int)syscall(SYS_move_mount, mount, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

static int interrupt_pipe[2] = {-1, -1};
static struct sigaction interrupt_saved[8];
static int interrupt_signals[8];
static int interrupt_count = 0;
static int interrupt_busy = 0;

static void interrupt_handler(int number) {
    int saved = errno;
    unsigned char byte = (unsigned char)number;
    ssize_t ignored = write(interrupt_pipe[1], &byte, 1);
    (void)ignored;
    errno = saved;
}

int kiln_interrupt_install(const int *signals, int count) {
    if (count > 8 || __atomic_exchange_n(&interrupt_busy, 1, __ATOMIC_ACQ_REL) != 0) {
        errno = EBUSY;
        return -1;
    }
    if (pipe2(interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        __atomic_store_n(&interrupt_busy, 0, __ATOMIC_RELEASE);
        return -1;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = interrupt_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int i = 0; i < count; i++) {
        if (sigaction(signals[i], &action, &interrupt_saved[interrupt_count]) == 0) {
            interrupt_signals[interrupt_count++] = signals[i];
        }
    }
    return interrupt_pipe[0];
}

void kiln_interrupt_restore(void) {
    for (int i = 0; i < interrupt_count; i++) {
        sigaction(interrupt_signals[i], &interrupt_saved[i], NULL);
    }
    interrupt_count = 0;
    if (interrupt_pipe[1] >= 0) close(interrupt_pipe[1]);
    interrupt_pipe[0] = interrupt_pipe[1] = -1;
    __atomic_store_n(&interrupt_busy, 0, __ATOMIC_RELEASE);
}
