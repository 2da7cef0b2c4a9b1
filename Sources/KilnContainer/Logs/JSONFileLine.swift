import Foundation
import KilnImage

/// The JSON lines of Docker's json-file log driver, written and read without `JSONEncoder`:
/// `{"log":"hello\n","stream":"stdout","time":"2024-05-01T12:00:00.123456789Z"}`.
///
/// A container's output passes through here line by line, so the writer escapes straight into
/// the output buffer and the reader decodes the three fields without building a JSON tree.
enum JSONFileLine {
    /// Appends one entry and its newline to `output`. `log` is the raw output of the container;
    /// `streamAndTime` is `","stream":"…","time":"…"}` and a newline, from `suffix`.
    ///
    /// The constant parts are static strings and buffer pointers, so that an entry costs no
    /// reference counting.
    static func append(log: UnsafeBufferPointer<UInt8>, streamAndTime: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        append(#"{"log":""#, to: &output)
        appendEscaped(log, to: &output)
        output.append(contentsOf: streamAndTime)
    }

    /// Returns the bytes after the log text of an entry of `stream` stamped `time`.
    static func suffix(stream: String, time: String) -> [UInt8] {
        var bytes = Array(#"","stream":""#.utf8)
        Array(stream.utf8).withUnsafeBufferPointer { appendEscaped($0, to: &bytes) }
        bytes += Array(#"","time":""#.utf8)
        bytes += Array(time.utf8)
        bytes += Array("\"}\n".utf8)
        return bytes
    }

    /// Returns the time of the realtime clock, to the nanosecond, as Docker writes it in logs.
    static func currentTime() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return RFC3339.format(RFC3339.Instant(seconds: Int64(now.tv_sec), nanoseconds: Int32(now.tv_nsec)))
    }

    /// Appends `bytes` as the inside of a JSON string, escaped as Docker's json-file driver
    /// escapes it (checked against Docker 20.10.24):
    /// - `"` and `\` get a backslash; newline and carriage return become `\n` and `\r`;
    /// - every other byte below 0x20 becomes `\u00XX` (tab is `\u0009`), and DEL stays as it is;
    /// - `<`, `>` and `&` become `\u003c`, `\u003e` and `\u0026`, as in Go's `encoding/json`;
    /// - U+2028 and U+2029 become `\u2028` and `\u2029`;
    /// - each byte that does not start a valid UTF-8 sequence becomes `\ufffd`, one per byte, as
    ///   Go's `utf8.DecodeRune` reads it.
    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        let count = bytes.count
        var index = 0
        var runStart = 0
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                if !needsEscape(byte) {
                    index += 1
                    continue
                }
                appendRun(bytes, from: runStart, to: index, into: &output)
                appendASCIIEscape(byte, to: &output)
                index += 1
                runStart = index
                continue
            }
            let length = validSequenceLength(bytes, at: index)
            if length == 0 {
                appendRun(bytes, from: runStart, to: index, into: &output)
                append(#"\ufffd"#, to: &output)
                index += 1
                runStart = index
            } else if length == 3, byte == 0xE2, bytes[index + 1] == 0x80, bytes[index + 2] & 0xFE == 0xA8 {
                // U+2028 (E2 80 A8) and U+2029 (E2 80 A9), which JavaScript takes as line ends.
                appendRun(bytes, from: runStart, to: index, into: &output)
                append(bytes[index + 2] == 0xA8 ? #"\u2028"# : #"\u2029"#, to: &output)
                index += 3
                runStart = index
            } else {
                index += length
            }
        }
        appendRun(bytes, from: runStart, to: count, into: &output)
    }

    /// Returns whether an ASCII byte needs an escape: a control character, `"`, `\`, `<`, `>` or `&`.
    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "<")
            || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&")
    }

    @inline(__always)
    private static func append(_ text: StaticString, to output: inout [UInt8]) {
        text.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    private static func appendRun(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, into output: inout [UInt8]) {
        guard end > start else { return }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
    }

    private static func appendASCIIEscape(_ byte: UInt8, to output: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            output.append(UInt8(ascii: "\\"))
            output.append(byte)
        case UInt8(ascii: "\n"):
            append(#"\n"#, to: &output)
        case UInt8(ascii: "\r"):
            append(#"\r"#, to: &output)
        default:
            append(#"\u00"#, to: &output)
            output.append(hexDigit(byte >> 4))
            output.append(hexDigit(byte & 0x0F))
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// Returns the length of the well-formed UTF-8 sequence at `index` (2 to 4), or 0 when the
    /// byte there starts none: a stray continuation byte, an overlong form, a surrogate, a code
    /// point above U+10FFFF or a sequence cut short. The rules are those of RFC 3629, which Go's
    /// `utf8.DecodeRune` follows.
    static func validSequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let first = bytes[index]
        let remaining = bytes.count - index
        func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            guard offset < remaining else { return false }
            let byte = bytes[index + offset]
            return byte >= low && byte <= high
        }
        switch first {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : 0
        case 0xE0:
            return continuation(1, 0xA0) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : 0
        case 0xED:
            return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
        case 0xF0:
            return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4:
            return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default:
            return 0
        }
    }
}
