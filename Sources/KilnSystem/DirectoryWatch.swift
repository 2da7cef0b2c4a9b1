import CSystem
import Glibc
import Synchronization

/// Changes in one directory, from Linux inotify, for code that would otherwise poll the files
/// in it: a write to a file there, or a file created, moved or removed.
///
/// A thread of its own blocks in `poll(2)` on the inotify descriptor, so that waiting holds no
/// thread of Swift's cooperative pool. It wakes the consumer with `.changed` when events arrive
/// and with `.idle` when `idleInterval` passes without any. Two `.changed` wakes are at least
/// `minimumInterval` apart, so a file written many times a second costs few wakes: the events
/// of that interval, and those that arrive while the consumer is busy, merge into one.
public final class DirectoryWatch: Sendable {
    public enum Wake: Sendable, Equatable {
        case changed
        case idle
    }

    /// The wakes, in order. It ends when `stop()` is called, the watch is released, or the task
    /// reading it is cancelled.
    public let wakes: AsyncStream<Wake>
    private let stopSignal: StopSignal

    /// Starts watching `directory`. Throws a SystemError where inotify or threads are not
    /// available, so callers can fall back to polling.
    public init(directory: String, idleInterval: Duration, minimumInterval: Duration = .zero) throws {
        let inotify = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard inotify >= 0 else { throw SystemError.current("inotify_init1", path: directory) }
        let events = UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE)
        guard inotify_add_watch(inotify, directory, events) >= 0 else {
            let error = SystemError.current("inotify_add_watch", path: directory)
            close(inotify)
            throw error
        }
        let stopEvent = kiln_eventfd_cloexec()
        guard stopEvent >= 0 else {
            let error = SystemError.current("eventfd", path: directory)
            close(inotify)
            throw error
        }
        let stopSignal = StopSignal(descriptor: stopEvent)
        self.stopSignal = stopSignal

        let (stream, continuation) = AsyncStream.makeStream(of: Wake.self, bufferingPolicy: .bufferingNewest(1))
        wakes = stream
        let idle = max(1, Self.milliseconds(idleInterval))
        let spacing = max(0, Self.milliseconds(minimumInterval))
        continuation.onTermination = { _ in stopSignal.signal() }
        do {
            try detachThread(for: "the watch of \(directory)") {
                Self.run(inotify: inotify, stopSignal: stopSignal, timeout: idle, spacing: spacing, continuation: continuation)
            }
        } catch {
            close(inotify)
            stopSignal.close()
            throw error
        }
    }

    deinit {
        stopSignal.signal()
    }

    /// Ends the stream and the thread. Calling it again does nothing.
    public func stop() {
        stopSignal.signal()
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        Int32(clamping: duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Runs the thread's loop and closes both descriptors when it ends. `timeout` and `spacing`
    /// are in milliseconds.
    private static func run(
        inotify: Int32, stopSignal: StopSignal, timeout: Int32, spacing: Int32,
        continuation: AsyncStream<Wake>.Continuation
    ) {
        let stopEvent = stopSignal.descriptor
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var polled = [
                pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stopEvent, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&polled, 2, timeout)
            if ready < 0, errno == EINTR { continue }
            if ready < 0 || polled[1].revents != 0 { break }
            if polled[0].revents != 0 {
                // Reads every queued event, so one wake covers them all.
                while read(inotify, &buffer, buffer.count) > 0 {}
                continuation.yield(.changed)
                // Waits out the spacing unless stopped. Events meanwhile queue in the kernel.
                if spacing > 0 {
                    var stopPoll = pollfd(fd: stopEvent, events: Int16(POLLIN), revents: 0)
                    if poll(&stopPoll, 1, spacing) > 0 { break }
                }
            } else {
                continuation.yield(.idle)
            }
        }
        close(inotify)
        stopSignal.close()
        continuation.finish()
    }
}

/// The eventfd that ends the watch thread's `poll`. The lock orders `signal` against `close`, so
/// a late `stop()` never writes to a descriptor number that the process has reused.
private final class StopSignal: Sendable {
    let descriptor: Int32
    private let isOpen = Mutex(true)

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    func signal() {
        isOpen.withLock { isOpen in
            guard isOpen else { return }
            var increment: UInt64 = 1
            _ = write(descriptor, &increment, MemoryLayout<UInt64>.size)
        }
    }

    func close() {
        isOpen.withLock { isOpen in
            guard isOpen else { return }
            isOpen = false
            _ = Glibc.close(descriptor)
        }
    }
}
