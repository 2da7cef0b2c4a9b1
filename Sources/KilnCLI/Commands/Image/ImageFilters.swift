import Foundation
import KilnDiagnostics
import KilnImage
import KilnStore

/// The `--filter` conditions of `kiln images` and `kiln image prune`, as Docker names them.
///
/// Values of one key are alternatives (any `reference=` may match) except `label=`, where
/// every condition must hold.
struct ImageFilters {
    var dangling: Bool?
    /// `path.Match` patterns against `repository:tag` and `repository`.
    var references: [String] = []
    /// `key` or `key=value` that must be present.
    var labels: [String] = []
    /// `key` or `key=value` that must be absent (prune only).
    var absentLabels: [String] = []
    var before: String?
    var since: String?
    /// Unix seconds: only images created before this.
    var until: Int64?

    /// Parses `KEY=VALUE` filters; `allowed` lists the keys the command accepts. A bad filter
    /// is a usage error (exit status 125), as in Docker.
    init(
        _ values: [String], command: String,
        allowed: Set<String> = ["dangling", "label", "reference", "before", "since", "until"]
    ) throws {
        for value in values {
            let key: String
            let argument: String
            if let range = value.range(of: "!="), !value[..<range.lowerBound].contains("=") {
                key = String(value[..<range.lowerBound]) + "!"
                argument = String(value[range.upperBound...])
            } else if let equals = value.firstIndex(of: "=") {
                key = String(value[..<equals])
                argument = String(value[value.index(after: equals)...])
            } else {
                throw UsageError(
                    command: command,
                    reason: .invalidValue(
                        flag: "--filter", value: value, reason: "bad format of filter (expected name=value)"))
            }
            let name = key.hasSuffix("!") ? String(key.dropLast()) : key
            guard allowed.contains(name) || (key == "label!" && allowed.contains("label!")) else {
                throw UsageError(
                    command: command,
                    reason: .custom(
                        "invalid filter '\(name)': valid filters are \(allowed.sorted().joined(separator: ", "))"))
            }
            switch key {
            case "dangling":
                guard let flag = StoreSupport.parseBool(argument) else {
                    throw UsageError(
                        command: command,
                        reason: .custom("invalid filter 'dangling=\(argument)': use dangling=true or dangling=false"))
                }
                dangling = flag
            case "reference": references.append(argument)
            case "label": labels.append(argument)
            case "label!": absentLabels.append(argument)
            case "before": before = argument
            case "since": since = argument
            case "until": until = try Self.parseUntil(argument, command: command)
            default:
                throw UsageError(command: command, reason: .custom("invalid filter '\(key)'"))
            }
        }
    }

    /// The images that pass, with the references (tags and digests) that the reference filters
    /// and `repository` keep. Without `showAll`, untagged parents of other images are hidden.
    func apply(to images: [ImageRecord], store: Store, repository: String?, showAll: Bool) throws
        -> [(image: ImageRecord, references: [Reference])]
    {
        let beforeTime = try before.map { try store.image(named: $0).createdSeconds ?? 0 }
        let sinceTime = try since.map { try store.image(named: $0).createdSeconds ?? 0 }
        let parents = Set(images.compactMap(\.parent))
        // An untagged image whose ID a named image also has is the same image under another
        // manifest (such as uncompressed layers from a docker-archive); -a shows it.
        let namedIDs = Set(images.filter { !$0.isDangling }.map(\.id))
        let patterns = references + (repository.map { [$0] } ?? [])

        var result: [(image: ImageRecord, references: [Reference])] = []
        for image in images {
            var names = image.tags + image.repoDigests
            if !patterns.isEmpty {
                names = names.filter { name in patterns.contains { Self.matches($0, name) } }
                if names.isEmpty { continue }
            }
            if let dangling, dangling != image.isDangling { continue }
            if !showAll && image.isDangling && dangling == nil
                && (parents.contains(image.id) || namedIDs.contains(image.id))
            {
                continue
            }
            if !labels.allSatisfy({ Self.hasLabel($0, image.labels) }) { continue }
            if absentLabels.contains(where: { Self.hasLabel($0, image.labels) }) { continue }
            let created = image.createdSeconds ?? 0
            if let beforeTime, created >= beforeTime { continue }
            if let sinceTime, created <= sinceTime { continue }
            if let until, created >= until { continue }
            result.append((image, names))
        }
        return result
    }

    static func hasLabel(_ condition: String, _ labels: [String: String]) -> Bool {
        guard let equals = condition.firstIndex(of: "=") else { return labels[condition] != nil }
        return labels[String(condition[..<equals])] == String(condition[condition.index(after: equals)...])
    }

    /// Whether `pattern` (Go's `path.Match` syntax) matches the reference as Docker shows it,
    /// with or without its tag.
    static func matches(_ pattern: String, _ reference: Reference) -> Bool {
        Glob.matches(pattern, reference.familiarString) || Glob.matches(pattern, reference.familiarName)
    }

    /// Reads `until=`: a Go duration before now (`24h`, `1h30m`), a Unix time, or an RFC 3339 time.
    static func parseUntil(_ text: String, command: String) throws -> Int64 {
        if let seconds = GoDuration.seconds(text) { return StoreSupport.now - seconds }
        if let unix = Double(text) { return Int64(unix) }
        if let instant = RFC3339.parse(text) { return instant.seconds }
        throw UsageError(
            command: command,
            reason: .custom(
                "invalid filter 'until=\(text)': give a duration such as 24h or 90m, a Unix time, or an RFC 3339 time"))
    }
}

/// Go's `time.ParseDuration` for the units filters use: `h`, `m`, `s` (and `ms`, `us`, `ns`,
/// which round down to whole seconds).
enum GoDuration {
    static func seconds(_ text: String) -> Int64? {
        var remaining = Substring(text)
        var total = 0.0
        guard !remaining.isEmpty else { return nil }
        while !remaining.isEmpty {
            let number = remaining.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            remaining = remaining.dropFirst(number.count)
            let unit = remaining.prefix { $0.isLetter }
            remaining = remaining.dropFirst(unit.count)
            switch unit {
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            case "ms": total += value / 1000
            case "us", "µs": total += value / 1_000_000
            case "ns": total += value / 1_000_000_000
            default: return nil
            }
        }
        return Int64(total)
    }
}

/// Shell-style patterns with Go's `path.Match` rules: `*` matches any run of characters other
/// than `/`, `?` one such character, `[...]` a class, `\` escapes.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        match(Array(pattern), 0, Array(text), 0)
    }

    private static func match(_ pattern: [Character], _ p: Int, _ text: [Character], _ t: Int) -> Bool {
        var p = p
        var t = t
        while p < pattern.count {
            switch pattern[p] {
            case "*":
                // Try every split of the run of non-slash characters.
                var end = t
                while true {
                    if match(pattern, p + 1, text, end) { return true }
                    guard end < text.count, text[end] != "/" else { return false }
                    end += 1
                }
            case "?":
                guard t < text.count, text[t] != "/" else { return false }
                p += 1
                t += 1
            case "[":
                guard t < text.count, let (matched, next) = matchClass(pattern, p, text[t]), matched else {
                    return false
                }
                p = next
                t += 1
            case "\\" where p + 1 < pattern.count:
                guard t < text.count, text[t] == pattern[p + 1] else { return false }
                p += 2
                t += 1
            default:
                guard t < text.count, text[t] == pattern[p] else { return false }
                p += 1
                t += 1
            }
        }
        return t == text.count
    }

    /// Whether `character` is in the class starting at `pattern[start]` (`[`), and the index
    /// after the class; nil for a malformed class.
    private static func matchClass(_ pattern: [Character], _ start: Int, _ character: Character) -> (Bool, Int)? {
        var index = start + 1
        var negate = false
        if index < pattern.count, pattern[index] == "^" {
            negate = true
            index += 1
        }
        var matched = false
        var first = true
        while index < pattern.count {
            if pattern[index] == "]" && !first { return (matched != negate, index + 1) }
            first = false
            var low = pattern[index]
            if low == "\\", index + 1 < pattern.count {
                index += 1
                low = pattern[index]
            }
            var high = low
            if index + 2 < pattern.count, pattern[index + 1] == "-", pattern[index + 2] != "]" {
                high = pattern[index + 2]
                index += 2
            }
            if low <= character && character <= high { matched = true }
            index += 1
        }
        return nil
    }
}
