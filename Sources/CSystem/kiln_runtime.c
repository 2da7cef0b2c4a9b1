#define _GNU_SOURCE
#include "kiln_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <unistd.h>

int kiln_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int kiln_eventfd_cloexec(void) {
    return eventfd(0, EFD_CLOEXEC);
}

int kiln_accept_cloexec(int socket) {
    return accept4(socket, NULL, NULL, SOCK_CLOEXEC);
}

int kiln_receive_fd(int socket) {
    char data[256];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);

    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;

    ssize_t received;
    do {
        received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    } while (received < 0 && errno == EINTR);
    if (received < 0) {
        return -1;
    }

    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header == NULL || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS ||
        header->cmsg_len != CMSG_LEN(sizeof(int))) {
        errno = EBADMSG;
        return -1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(header), sizeof fd);
    return fd;
}

int kiln_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

struct kiln_network_namespace_result {
    int fd;
    int error;
};

// Runs on a thread of its own, because unshare(CLONE_NEWNET) moves only the calling thread into
// the new namespace. The namespace lives on through the returned descriptor after the thread ends.
static void *kiln_make_network_namespace(void *argument) {
    struct kiln_network_namespace_result *result = argument;
    if (unshare(CLONE_NEWNET) != 0) {
        result->error = errno;
        return NULL;
    }

    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/ns/net", (int)gettid());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        result->error = errno;
        return NULL;
    }

    // A new network namespace has its loopback interface down, and runc brings it up only in a
    // namespace that it creates itself.
    int socket_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (socket_fd < 0 || ioctl(socket_fd, SIOCGIFFLAGS, &request) != 0) {
        result->error = errno;
        if (socket_fd >= 0) close(socket_fd);
        close(fd);
        return NULL;
    }
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(socket_fd, SIOCSIFFLAGS, &request) != 0) {
        result->error = errno;
        close(socket_fd);
        close(fd);
        return NULL;
    }
    close(socket_fd);
    result->fd = fd;
    return NULL;
}

int kiln_new_network_namespace(void) {
    struct kiln_network_namespace_result result = {.fd = -1, .error = 0};
    pthread_t thread;
    int created = pthread_create(&thread, NULL, kiln_make_network_namespace, &result);
    if (created != 0) {
        errno = created;
        return -1;
    }
    pthread_join(thread, NULL);
    if (result.fd < 0) {
        errno = result.error;
        return -1;
    }
    return result.fd;
}

int kiln_get_window_size(int fd, uint16_t *rows, uint16_t *columns) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) {
        return -1;
    }
    *rows = size.ws_row;
    *columns = size.ws_col;
    return 0;
}

int kiln_set_window_size(int fd, uint16_t rows, uint16_t columns) {
    struct winsize size;
    memset(&size, 0, sizeof size);
    size.ws_row = rows;
    size.ws_col = columns;
    return ioctl(fd, TIOCSWINSZ, &size);
}

static volatile sig_atomic_t forward_target = 0;
static volatile sig_atomic_t forwarded_count = 0;
static struct sigaction saved_actions[65];
static int saved_signals[65];
static int saved_count = 0;

static void forward_signal(int number) {
    pid_t target = (pid_t)forward_target;
    if (target > 0) {
        int saved_errno = errno;
        forwarded_count = forwarded_count + 1;
        kill(target, number);
        errno = saved_errno;
    }
}

int kiln_forward_signals(pid_t target, const int *signals, int count) {
    forward_target = target;
    if (saved_count > 0) {
        return 0;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < count && saved_count < 64; i++) {
        if (sigaction(signals[i], &action, &saved_actions[saved_count]) != 0) {
            return -1;
        }
        saved_signals[saved_count++] = signals[i];
    }
    return 0;
}

void kiln_stop_forwarding_signals(void) {
    forward_target = 0;
    for (int i = 0; i < saved_count; i++) {
        sigaction(saved_signals[i], &saved_actions[i], NULL);
    }
    saved_count = 0;
}

long kiln_forwarded_signal_count(void) {
    return (long)forwarded_count;
}

int kiln_unshare_mount_namespace(void) {
    if (unshare(CLONE_NEWNS) != 0) return -1;
    return mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);
}
