#define _GNU_SOURCE
#include "kiln_build.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
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
