#define _GNU_SOURCE
#include "kiln_spawn.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

const short kiln_spawn_setsid = POSIX_SPAWN_SETSID;

int kiln_spawn_add_close_from(void *actions, int low) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, low);
}

int kiln_spawn_add_chdir(void *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)actions, path);
}

int kiln_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

struct unwaited_child {
    char *path;
    char **argv;
    char **envp;
    int null_fd;
};

static size_t strings_size(char *const strings[], size_t *count) {
    size_t size = 0;
    *count = 0;
    for (; strings[*count] != NULL; (*count)++) {
        size += strlen(strings[*count]) + 1;
    }
    return size;
}

static char **copy_strings(char *const strings[], size_t count, char ***pointers, char **bytes) {
    char **copy = *pointers;
    for (size_t index = 0; index < count; index++) {
        size_t length = strlen(strings[index]) + 1;
        memcpy(*bytes, strings[index], length);
        copy[index] = *bytes;
        *bytes += length;
    }
    copy[count] = NULL;
    *pointers += count + 1;
    return copy;
}

static int unwaited_child_main(void *argument) {
    struct unwaited_child *child = argument;
    // The handler table is this child's own copy, so resetting it leaves the parent's alone.
    struct sigaction defaults;
    memset(&defaults, 0, sizeof defaults);
    defaults.sa_handler = SIG_DFL;
    // Failing calls would set errno, which here is the parent thread's, so the child skips
    // what cannot be changed: SIGKILL, SIGSTOP and the signals glibc keeps for itself.
    for (int number = 1; number < NSIG; number++) {
        if (number != SIGKILL && number != SIGSTOP && (number < 32 || number >= SIGRTMIN)) {
            sigaction(number, &defaults, NULL);
        }
    }
    setsid();
    for (int target = 0; target <= 2; target++) {
        if (child->null_fd != target) {
            dup2(child->null_fd, target);
        }
    }
    if (child->null_fd > 2) {
        close(child->null_fd);
    }
    // Linux 5.9+; on older kernels the descriptors that are not close-on-exec stay open.
    syscall(SYS_close_range, 3, ~0U, 0);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    execve(child->path, child->argv, child->envp);
    _exit(127);
}

pid_t kiln_spawn_unwaited(const char *path, char *const argv[], char *const envp[], int null_fd) {
    size_t argument_count, environment_count;
    size_t bytes_size = strlen(path) + 1 + strings_size(argv, &argument_count) + strings_size(envp, &environment_count);
    size_t pointers_size = (argument_count + environment_count + 2) * sizeof(char *);
    const size_t stack_size = 64 * 1024;
    size_t size = stack_size + sizeof(struct unwaited_child) + pointers_size + bytes_size;
    char *mapping = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) {
        return -1;
    }
    struct unwaited_child *child = (struct unwaited_child *)(mapping + stack_size);
    char **pointers = (char **)(child + 1);
    char *bytes = (char *)pointers + pointers_size;
    size_t path_length = strlen(path) + 1;
    memcpy(bytes, path, path_length);
    child->path = bytes;
    bytes += path_length;
    child->argv = copy_strings(argv, argument_count, &pointers, &bytes);
    child->envp = copy_strings(envp, environment_count, &pointers, &bytes);
    child->null_fd = null_fd;

    // No signal may run one of the parent's handlers on the child's stack before the reset.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = clone(unwaited_child_main, mapping + stack_size, CLONE_VM | SIGCHLD, child);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (pid < 0) {
        munmap(mapping, size);
        errno = saved;
    }
    return pid;
}
