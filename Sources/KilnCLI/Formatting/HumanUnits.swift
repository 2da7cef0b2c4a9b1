import KilnImage

/// Durations and sizes in the words Docker's go-units library uses.
enum HumanUnits {
    /// `Less than a second`, `1 second`, `45 seconds`, `About a minute`, `12 minutes`,
    /// `About an hour`, `5 hours`, `3 days`, `2 weeks`, `4 months`, `2 years`, as
    /// go-units' `HumanDuration` words them; `CREATED` columns add " ago".
    static func duration(seconds: Int64) -> String {
        let hours = (Double(seconds) / 3600 + 0.5).rounded(.down)
        if seconds < 1 { return "Less than a second" }
        if seconds == 1 { return "1 second" }
        if seconds < 60 { return "\(seconds) seconds" }
        let minutes = seconds / 60
        if minutes == 1 { return "About a minute" }
        if minutes < 60 { return "\(minutes) minutes" }
        let roundedHours = Int64(hours)
        if roundedHours == 1 { return "About an hour" }
        if roundedHours < 48 { return "\(roundedHours) hours" }
        if roundedHours < 24 * 7 * 2 { return "\(roundedHours / 24) days" }
        if roundedHours < 24 * 30 * 2 { return "\(roundedHours / 24 / 7) weeks" }
        if roundedHours < 24 * 365 * 2 { return "\(roundedHours / 24 / 30) months" }
        return "\(seconds / 3600 / 24 / 365) years"
    }

    /// `3 hours ago`, for a Unix time relative to `now`.
    static func ago(_ time: Int64, now: Int64) -> String {
        duration(seconds: now - time) + " ago"
    }

    /// Sizes with three significant digits (`4.26MB`), as `docker images` shows them.
    static func size(_ bytes: Int64) -> String {
        ByteFormat.humanSize(bytes)
    }

    /// Sizes with four significant digits (`16.43MB`), as go-units' `HumanSize` writes them for
    /// `system df` and prune totals.
    static func preciseSize(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var value = Double(max(bytes, 0))
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if ByteFormat.significant(value, digits: 4) == "1000", unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return ByteFormat.significant(value, digits: 4) + units[unit]
    }

    /// A Unix time as Go's `time.Time.String()` prints it in UTC: `2024-05-01 12:00:00 +0000 UTC`.
    static func goTime(_ seconds: Int64) -> String {
        // RFC3339.format gives `2024-05-01T12:00:00Z`.
        let text = RFC3339.format(RFC3339.Instant(seconds: seconds))
        return String(text.replacingFirst("T", with: " ").dropLast()) + " +0000 UTC"
    }
}

extension String {
    func replacingFirst(_ target: Character, with replacement: String) -> String {
        guard let index = firstIndex(of: target) else { return self }
        return String(self[..<index]) + replacement + String(self[self.index(after: index)...])
    }
}
