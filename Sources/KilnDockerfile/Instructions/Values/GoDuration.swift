/// A duration written the way Go's `time.ParseDuration` reads it (`30s`, `1m30s`, `1.5h`, `250ms`),
/// which is what Docker accepts for HEALTHCHECK options.
public struct GoDuration: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The text as written.
    public var text: String
    public var nanoseconds: Int64

    public var description: String { text }

    public var duration: Duration { .nanoseconds(nanoseconds) }

    public init?(parsing text: String) {
        guard let nanoseconds = Self.parse(Array(text.utf8)) else { return nil }
        self.text = text
        self.nanoseconds = nanoseconds
    }

    private static let units: [(String, UInt64)] = [
        ("ns", 1), ("us", 1_000), ("\u{00B5}s", 1_000), ("\u{03BC}s", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
        ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Go's limit: the sum of the components may reach 2^63 only for a negative duration.
    private static let limit: UInt64 = 1 << 63

    private static func parse(_ bytes: [UInt8]) -> Int64? {
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        if bytes.count - index == 1 && bytes[index] == UInt8(ascii: "0") { return 0 }
        guard index < bytes.count else { return nil }

        var total: UInt64 = 0
        while index < bytes.count {
            guard let component = parseComponent(bytes, &index) else { return nil }
            total += component
            guard total <= limit else { return nil }
        }

        if negative { return total == limit ? Int64.min : -Int64(total) }
        guard total < limit else { return nil }
        return Int64(total)
    }

    /// Parses one `[0-9]*(\.[0-9]*)?UNIT` component at `index` and returns it in nanoseconds.
    private static func parseComponent(_ bytes: [UInt8], _ index: inout Int) -> UInt64? {
        guard bytes[index] == UInt8(ascii: ".") || isDigit(bytes[index]) else { return nil }

        var whole: UInt64 = 0
        let wholeStart = index
        while index < bytes.count, isDigit(bytes[index]) {
            let (times, overflow1) = whole.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(bytes[index] - 0x30))
            guard !overflow1, !overflow2, sum <= limit else { return nil }
            whole = sum
            index += 1
        }
        let hadWhole = index > wholeStart

        // Like Go, stop adding fraction digits once they would overflow, but keep reading them.
        var fraction: UInt64 = 0
        var scale = 1.0
        var hadFraction = false
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            var overflowed = false
            while index < bytes.count, isDigit(bytes[index]) {
                if !overflowed {
                    let (times, overflow) = fraction.multipliedReportingOverflow(by: 10)
                    if overflow || times > limit {
                        overflowed = true
                    } else {
                        fraction = times + UInt64(bytes[index] - 0x30)
                        scale *= 10
                    }
                }
                index += 1
            }
            hadFraction = index > fractionStart
        }
        guard hadWhole || hadFraction else { return nil }

        let unitStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "."), !isDigit(bytes[index]) { index += 1 }
        guard index > unitStart else { return nil }
        let unitText = String(decoding: bytes[unitStart..<index], as: UTF8.self)
        guard let unit = units.first(where: { $0.0 == unitText })?.1 else { return nil }

        guard whole <= limit / unit else { return nil }
        var value = whole * unit
        if fraction > 0 {
            value += UInt64(Double(fraction) * (Double(unit) / scale))
            guard value <= limit else { return nil }
        }
        return value
    }
}
