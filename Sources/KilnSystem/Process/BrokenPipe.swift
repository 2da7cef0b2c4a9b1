import Glibc

/// Runs `body` with SIGPIPE blocked on the calling thread, so that a write to a pipe or FIFO
/// whose reader has gone fails with EPIPE, which the caller reports, instead of killing the
/// process. Go programs, Docker's CLI among them, treat every descriptor but standard output
/// and standard error this way (`TestStdPipe` in Go's src/os/pipe_test.go checks it).
///
/// The kernel directs the SIGPIPE of a failed write at the writing thread, so `body` must write
/// on this thread and must not suspend. That signal is discarded before the thread's signal
/// mask is restored; otherwise it would be delivered then and end the process.
public func withBrokenPipeAsError<T>(_ body: () throws -> T) rethrows -> T {
    var blocked = sigset_t()
    sigemptyset(&blocked)
    sigaddset(&blocked, SIGPIPE)
    var previous = sigset_t()
    pthread_sigmask(SIG_BLOCK, &blocked, &previous)
    defer {
        if sigismember(&previous, SIGPIPE) == 0 {
            var pending = sigset_t()
            if sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1 {
                var noWait = timespec(tv_sec: 0, tv_nsec: 0)
                _ = sigtimedwait(&blocked, nil, &noWait)
            }
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
    }
    return try body()
}
