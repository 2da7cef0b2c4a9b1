import Glibc

extension ChildProcess {
    /// The status of a child that ended and everything it wrote, as `run` collects them.
    public struct Output: Sendable {
        public var status: TerminationStatus
        public var standardOutput: [UInt8]
        public var standardError: [UInt8]
        /// Whether `run` killed the child with SIGKILL because it outlived its timeout.
        public var timedOut: Bool

        public init(status: TerminationStatus, standardOutput: [UInt8], standardError: [UInt8], timedOut: Bool) {
            self.status = status
            self.standardOutput = standardOutput
            self.standardError = standardError
            self.timedOut = timedOut
        }
    }

    /// Runs `executable` to its end and collects its standard output and error, whatever its
    /// status. Blocks the calling thread.
    ///
    /// Standard input is `input`, or /dev/null when that is nil. The input is written and both
    /// outputs are read on threads of their own, so a child that fills one pipe while kiln waits
    /// on another cannot block. A child still running after `timeout` is killed with SIGKILL.
    /// The outputs are read to their end, so a descendant that keeps them open delays the return.
    /// The parameters that `spawn` also takes mean the same here.
    public static func run(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        workingDirectory: String? = nil,
        input: [UInt8]? = nil,
        timeout: Duration? = nil,
        newSession: Bool = false
    ) throws -> Output {
        let inputPipe = try input.map { _ in try FileDescriptor.pipe() }
        let standardInput = try inputPipe?.readEnd ?? FileDescriptor.open("/dev/null", flags: O_RDONLY)
        let output = try FileDescriptor.pipe()
        let errors = try FileDescriptor.pipe()
        let child = try spawn(
            executable, arguments: arguments, environment: environment, workingDirectory: workingDirectory,
            descriptors: [0: standardInput.rawValue, 1: output.writeEnd.rawValue, 2: errors.writeEnd.rawValue],
            newSession: newSession)
        try standardInput.close()
        try output.writeEnd.close()
        try errors.writeEnd.close()

        var threads: [BlockingThread<[UInt8]>] = []
        do {
            for pipe in [output.readEnd, errors.readEnd] {
                threads.append(try BlockingThread(for: child.executable) { (try? pipe.readAll(limit: .max)) ?? [] })
            }
            if let input, let writeEnd = inputPipe?.writeEnd {
                threads.append(
                    try BlockingThread(for: child.executable) {
                        writeIgnoringBrokenPipe(input, to: writeEnd)
                        return []
                    })
            }
        } catch {
            child.signal(SIGKILL)
            _ = child.waitBlocking()
            throw error
        }

        var timedOut = false
        var status: TerminationStatus
        if let timeout {
            if let ended = child.waitBlocking(timeout: timeout) {
                status = ended
            } else {
                timedOut = child.signal(SIGKILL)
                status = child.waitBlocking()
            }
        } else {
            status = child.waitBlocking()
        }
        let collected = threads.map { $0.join() ?? [] }
        return Output(status: status, standardOutput: collected[0], standardError: collected[1], timedOut: timedOut)
    }

    /// Runs `executable` as the blocking `run` does, on a thread of its own, so that the waiting
    /// task holds no thread of Swift's cooperative pool while the child runs.
    public static func run(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        workingDirectory: String? = nil,
        input: [UInt8]? = nil,
        timeout: Duration? = nil,
        newSession: Bool = false
    ) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try detachThread(for: executable) {
                    continuation.resume(
                        with: Result {
                            try run(
                                executable, arguments: arguments, environment: environment,
                                workingDirectory: workingDirectory, input: input, timeout: timeout, newSession: newSession)
                        })
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

/// Writes `bytes` to a pipe and closes it. A child that exits without reading all of its input
/// makes the write fail with EPIPE, which is not an error here, so SIGPIPE is blocked on this
/// thread. The kernel directs that SIGPIPE at the writing thread, and it is discarded when the
/// thread ends.
private func writeIgnoringBrokenPipe(_ bytes: [UInt8], to pipe: FileDescriptor) {
    var blocked = sigset_t()
    sigemptyset(&blocked)
    sigaddset(&blocked, SIGPIPE)
    pthread_sigmask(SIG_BLOCK, &blocked, nil)
    try? pipe.write(bytes)
    try? pipe.close()
}
