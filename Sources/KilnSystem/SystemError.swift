import Glibc
import KilnDiagnostics

/// A failed system call, with the operation, the path as kiln names it, and errno.
public struct SystemError: KilnError, Equatable {
    /// The operation in words (`create directory`, `open`, `remove`).
    public var operation: String
    /// The path the operation was applied to, relative to its root when it has one.
    public var path: String
    public var errno: Int32
    /// More about the failure when errno alone does not say it.
    public var detail: String?

    public init(_ operation: String, path: String, errno: Int32, detail: String? = nil) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.detail = detail
    }

    /// The error for the calling thread's current errno.
    static func current(_ operation: String, path: String) -> SystemError {
        SystemError(operation, path: path, errno: Glibc.errno)
    }

    public var diagnostic: Diagnostic {
        var message = "\(operation) \(escapedForDisplay(path)) failed: \(String(cString: strerror(errno)))"
        if let detail { message += " (\(detail))" }
        return .error(message)
    }
}

/// `text` in double quotes with control characters and quotes escaped, safe to print.
///
/// Text of more than `maximumDisplayScalars` Unicode scalars (a path deeper than PATH_MAX can
/// run to thousands) keeps its first and last `displayedEndScalars` scalars with `…` between,
/// and its length in bytes follows the closing quote.
public func escapedForDisplay(_ text: String) -> String {
    let scalars = text.unicodeScalars
    guard scalars.count > maximumDisplayScalars else { return "\"" + escaped(scalars[...]) + "\"" }
    let start = scalars.prefix(displayedEndScalars)
    let end = scalars.suffix(displayedEndScalars)
    return "\"" + escaped(start) + "…" + escaped(end) + "\" (\(text.utf8.count) bytes)"
}

/// `text` as it is when it is short and has no control characters, else as `escapedForDisplay`
/// shows it, for messages that print a path without quotes, as Docker's do.
public func shortenedForDisplay(_ text: String) -> String {
    let scalars = text.unicodeScalars
    let isPlain = scalars.count <= maximumDisplayScalars && !scalars.contains {
        $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value)
    }
    return isPlain ? text : escapedForDisplay(text)
}

/// The most Unicode scalars `escapedForDisplay` shows whole.
public let maximumDisplayScalars = 240
/// The scalars `escapedForDisplay` keeps at each end of longer text.
let displayedEndScalars = 100

private func escaped(_ scalars: Substring.UnicodeScalarView) -> String {
    var result = ""
    for scalar in scalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\t": result += "\\t"
        case "\r": result += "\\r"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value):
            let hex = String(scalar.value, radix: 16)
            result += "\\x" + (hex.count < 2 ? "0" : "") + hex
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result
}

/// Retries `body` while it fails with EINTR and returns its result.
@inline(__always)
func retryingOnInterrupt<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && Glibc.errno == EINTR { continue }
        return result
    }
}
