/// Sizes and durations as Docker prints them.
enum ByteFormat {
    /// `0B`, `512B`, `12.3kB`, `45.6MB`, `1.02GB`: decimal units with three significant digits,
    /// as `docker images` and Docker's progress bars show sizes.
    static func humanSize(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var value = Double(max(bytes, 0))
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        // 999,999 bytes round to "1000kB" at three digits; show the next unit instead.
        if significant(value, digits: 3) == "1000", unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return significant(value, digits: 3) + units[unit]
    }

    /// `0.3s`, `12.1s`, `2m3s`: BuildKit's step durations.
    static func duration(_ seconds: Double) -> String {
        if seconds < 60 {
            return "\(fixed(seconds, decimals: 1))s"
        }
        let whole = Int(seconds.rounded())
        return "\(whole / 60)m\(whole % 60)s"
    }

    static func significant(_ value: Double, digits: Int) -> String {
        if value == 0 { return "0" }
        var decimals = digits - 1
        var magnitude = 10.0
        while value >= magnitude, decimals > 0 {
            decimals -= 1
            magnitude *= 10
        }
        var text = fixed(value, decimals: decimals)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((value * scale).rounded())
        let whole = scaled / Int64(scale)
        guard decimals > 0 else { return String(whole) }
        let fraction = String(scaled % Int64(scale))
        return "\(whole)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
}
