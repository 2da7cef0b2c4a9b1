import Foundation
import KilnDiagnostics
import Synchronization

/// A destination for command output: a file descriptor (stdout, stderr) or a buffer that tests read.
///
/// Writes are serialised, so lines from concurrent tasks never interleave mid-line.
public final class TextOutput: Sendable {
    private enum Target: Sendable {
        case fileDescriptor(Int32)
        case buffer
    }

    private let target: Target
    private let captured = Mutex<[UInt8]>([])

    /// The file descriptor written to, or nil for an in-memory destination; commands that
    /// stream binary output (`kiln save`) write to it directly.
    public var fileDescriptor: Int32? {
        if case .fileDescriptor(let fd) = target { return fd }
        return nil
    }
    /// Whether the destination is a terminal, which turns on colour, cursor movement and live progress.
    public let isTerminal: Bool

    public init(fileDescriptor: Int32) {
        target = .fileDescriptor(fileDescriptor)
        isTerminal = isatty(fileDescriptor) == 1
    }

    /// An in-memory destination; `isTerminal` lets tests exercise the terminal rendering.
    public init(capturingAsTerminal isTerminal: Bool = false) {
        target = .buffer
        self.isTerminal = isTerminal
    }

    public static let standardOutput = TextOutput(fileDescriptor: STDOUT_FILENO)
    public static let standardError = TextOutput(fileDescriptor: STDERR_FILENO)

    public func write(_ text: String) {
        write(bytes: Array(text.utf8))
    }

    /// Writes `text` and a newline.
    public func line(_ text: String = "") {
        write(text + "\n")
    }

    public func write(bytes: [UInt8]) {
        captured.withLock { buffer in
            switch target {
            case .buffer:
                buffer.append(contentsOf: bytes)
            case .fileDescriptor(let fd):
                bytes.withUnsafeBytes { raw in
                    guard let base = raw.baseAddress else { return }
                    var offset = 0
                    while offset < raw.count {
                        let written = Foundation.write(fd, base + offset, raw.count - offset)
                        if written < 0 {
                            if errno == EINTR { continue }
                            // A closed pipe (`kiln images | head`) ends output silently, as other CLIs do.
                            return
                        }
                        offset += written
                    }
                }
            }
        }
    }

    /// Everything written so far, for an in-memory destination.
    public var text: String {
        captured.withLock { String(decoding: $0, as: UTF8.self) }
    }

    /// Everything written so far as bytes, for binary output such as a tar stream.
    public var bytes: [UInt8] {
        captured.withLock { $0 }
    }
}

/// Where a command reads standard input from: the real stdin, or bytes that a test supplies.
public enum InputSource: Sendable {
    case fileDescriptor(Int32)
    case bytes([UInt8])

    public static let standardInput = InputSource.fileDescriptor(STDIN_FILENO)

    /// Reads one line without its newline, or nil at end of input. A terminal answer to a
    /// prompt arrives this way; the rest of the input stays unread.
    public func readLine() throws -> String? {
        switch self {
        case .bytes(let bytes):
            guard !bytes.isEmpty else { return nil }
            let line = bytes.prefix { $0 != UInt8(ascii: "\n") }
            return String(decoding: line, as: UTF8.self)
        case .fileDescriptor(let fd):
            var line: [UInt8] = []
            var byte: UInt8 = 0
            while true {
                let count = read(fd, &byte, 1)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw GeneralError("failed to read standard input: \(String(cString: strerror(errno)))")
                }
                if count == 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
                if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
                line.append(byte)
            }
        }
    }

    /// Whether this is a terminal, where a command may prompt.
    public var isTerminal: Bool {
        if case .fileDescriptor(let fd) = self { return isatty(fd) == 1 }
        return false
    }

    /// Reads one line from a terminal without echoing it, for a password prompt. The terminal's
    /// settings are restored afterwards, also when reading fails.
    public func readSecretLine() throws -> String? {
        guard case .fileDescriptor(let fd) = self, isatty(fd) == 1 else { return try readLine() }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return try readLine() }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        silent.c_lflag |= tcflag_t(ECHONL)
        tcsetattr(fd, TCSANOW, &silent)
        defer { tcsetattr(fd, TCSANOW, &saved) }
        return try readLine()
    }

    /// Reads everything up to end of input, unless more than `limit` bytes arrive and
    /// `acceptsMore` rejects what has arrived: then reading stops and `InputTooLarge` is thrown.
    /// `acceptsMore` is called once, with the first bytes, so `kiln build -` can take a context
    /// archive of any size while a Dockerfile on standard input stays bounded.
    public func readAll(limit: Int, acceptsMore: ([UInt8]) -> Bool = { _ in false }) throws -> [UInt8] {
        switch self {
        case .bytes(let bytes):
            guard bytes.count <= limit || acceptsMore(bytes) else { throw InputTooLarge(limit: limit) }
            return bytes
        case .fileDescriptor(let fd):
            var result: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            var bounded = true
            while true {
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw GeneralError("failed to read standard input: \(String(cString: strerror(errno)))")
                }
                if count == 0 { return result }
                result.append(contentsOf: chunk[0..<count])
                if bounded, result.count > limit {
                    guard acceptsMore(result) else { throw InputTooLarge(limit: limit) }
                    bounded = false
                }
            }
        }
    }

    /// Reads everything up to end of file.
    public func readAll() throws -> [UInt8] {
        switch self {
        case .bytes(let bytes):
            return bytes
        case .fileDescriptor(let fd):
            var result: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw GeneralError("failed to read standard input: \(String(cString: strerror(errno)))")
                }
                if count == 0 { break }
                result.append(contentsOf: chunk[0..<count])
            }
            return result
        }
    }
}

/// Standard input had more bytes than a command reads from it.
public struct InputTooLarge: Error, Equatable {
    public var limit: Int
}
