import CSystem
import Foundation

/// The unix socket that runc's `--console-socket` connects to, to hand over the master side of
/// the container's pseudo-terminal with SCM_RIGHTS.
final class ConsoleSocket: @unchecked Sendable {
    let path: String
    private let directory: String
    private var listener: Int32

    init() throws {
        // A short private directory: socket paths must fit in 108 bytes, which a store path may not.
        var template = Array("/tmp/kiln-console-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw RuntimeError(.systemCallFailed(operation: "creating a console socket directory in /tmp", errno: errno))
        }
        directory = String(cString: made)
        path = directory + "/console.sock"
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else {
            let code = errno
            rmdir(directory)
            throw RuntimeError(.systemCallFailed(operation: "creating a console socket", errno: code))
        }
        let fd = listener
        let socketPath = path
        try UnixSocketAddress(path).withPointer { address, length in
            guard bind(fd, address, length) == 0, listen(fd, 1) == 0 else {
                throw RuntimeError(.systemCallFailed(operation: "listening on \(socketPath)", errno: errno))
            }
        }
    }

    /// Accepts runc's connection and returns the pseudo-terminal master it sends (close-on-exec).
    func receiveMaster(timeoutMilliseconds: Int32 = 10_000) throws -> Int32 {
        var pollDescriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&pollDescriptor, 1, timeoutMilliseconds) > 0 else {
            throw RuntimeError(.systemCallFailed(operation: "waiting for runc's console socket connection", errno: ETIMEDOUT))
        }
        let connection = kiln_accept_cloexec(listener)
        guard connection >= 0 else {
            throw RuntimeError(.systemCallFailed(operation: "accepting runc's console socket connection", errno: errno))
        }
        defer { Glibc.close(connection) }
        let master = kiln_receive_fd(connection)
        guard master >= 0 else {
            throw RuntimeError(.systemCallFailed(operation: "receiving the terminal from runc", errno: errno))
        }
        return master
    }

    func close() {
        guard listener >= 0 else { return }
        Glibc.close(listener)
        listener = -1
        unlink(path)
        rmdir(directory)
    }

    deinit {
        close()
    }
}

/// Copies between kiln's terminal and a container's pseudo-terminal master: kiln's terminal in
/// raw mode, window size changes (SIGWINCH) passed on, until the container side closes.
final class TerminalProxy: @unchecked Sendable {
    private let master: Int32
    private var savedAttributes: termios?
    private var resizeSource: DispatchSourceSignal?
    private let outputDone = DispatchSemaphore(value: 0)

    init(master: Int32, forwardInput: Bool) {
        self.master = master
        if isatty(STDIN_FILENO) == 1 {
            var attributes = termios()
            if tcgetattr(STDIN_FILENO, &attributes) == 0 {
                savedAttributes = attributes
                var raw = attributes
                cfmakeraw(&raw)
                tcsetattr(STDIN_FILENO, TCSANOW, &raw)
            }
        }
        copyWindowSize()
        let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
        signal(SIGWINCH, SIG_IGN)
        source.setEventHandler { [weak self] in self?.copyWindowSize() }
        source.resume()
        resizeSource = source

        let masterFD = master
        Thread {
            TerminalProxy.copy(from: masterFD, to: STDOUT_FILENO)
            self.outputDone.signal()
        }.start()
        if forwardInput {
            Thread { TerminalProxy.copy(from: STDIN_FILENO, to: masterFD) }.start()
        }
    }

    private func copyWindowSize() {
        var rows: UInt16 = 0
        var columns: UInt16 = 0
        for fd in [STDOUT_FILENO, STDIN_FILENO] where kiln_get_window_size(fd, &rows, &columns) == 0 {
            _ = kiln_set_window_size(master, rows, columns)
            return
        }
    }

    /// Copies until end of file or an error; EIO on the master means every slave end closed.
    private static func copy(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 32768)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return }
            var offset = 0
            while offset < count {
                let written = buffer[offset..<count].withUnsafeBytes { write(destination, $0.baseAddress, $0.count) }
                if written < 0, errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// Waits until the container's output is copied, then restores kiln's terminal.
    func finish() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                self.outputDone.wait()
                continuation.resume()
            }.start()
        }
        resizeSource?.cancel()
        if var saved = savedAttributes {
            tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        }
        Glibc.close(master)
    }
}
