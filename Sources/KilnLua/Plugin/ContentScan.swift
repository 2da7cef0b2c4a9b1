import CLua
import KilnBuild

/// `push:scan(needles [, options])`: searches the pushed image's config and layer files for byte
/// strings, in kiln's code rather than the plugin's, and returns the matches.
///
/// One hook call may read at most `ContentScanLimits().maximumBytes` in total, however often it
/// calls `scan`. Time spent scanning does not count against the call's wall-clock limit, because
/// that byte limit already bounds it, and a plugin's own loop still meets its instruction budget.
enum ContentScan {
    /// The most needles one scan takes, and the longest needle in bytes.
    static let maximumNeedles = 32
    static let maximumNeedleBytes = 256

    static func run(_ call: HostCall, name: String) throws(HostFunctionError) -> Int32 {
        let vm = call.vm
        guard let scanner = vm.recorder.contentScanner else {
            throw .message("\(name): the image content is not available to this hook")
        }
        let needles = try readNeedles(try call.valueArgument(2, "needles"), name: name)
        var limits = try readLimits(call.isNoneOrNil(3) ? .nil : try call.valueArgument(3, "options"), name: name)
        limits.maximumBytes = min(limits.maximumBytes, ContentScanLimits().maximumBytes - vm.recorder.scannedBytes)
        guard limits.maximumBytes > 0 else {
            throw .message("\(name): this hook call has already read \(ContentScanLimits().maximumBytes) bytes, the limit")
        }

        let start = kiln_monotonic_now()
        let result: ContentScanResult
        do {
            result = try scanner.scan(for: needles, limits: limits)
        } catch {
            throw .message("\(name): reading the image failed: \(error)")
        }
        // The deadline moves by the time spent in the scan, which the byte limit bounds instead.
        if vm.shared.pointee.deadline > 0 {
            vm.shared.pointee.deadline += kiln_monotonic_now() - start
        }
        vm.recorder.scannedBytes += result.scannedBytes

        let matches = result.matches.map { match -> LuaValue in
            var table = LuaTable()
            table["layer"] = match.layer.map(LuaValue.text) ?? .nil
            table["path"] = match.path.map(LuaValue.text) ?? .nil
            table["offset"] = .integer(match.offset)
            table["needle"] = .integer(Int64(match.needle + 1))
            table["text"] = .string(match.text)
            return .table(table)
        }
        var table = LuaTable()
        table["matches"] = .array(matches)
        table["complete"] = .boolean(result.isComplete)
        table["scanned_bytes"] = .integer(result.scannedBytes)
        return try call.push(.table(table))
    }

    private static func readNeedles(_ value: LuaValue, name: String) throws(HostFunctionError) -> [[UInt8]] {
        guard let list = value.tableValue, list.fields.isEmpty, !list.array.isEmpty else {
            throw .message("\(name): expected a list of strings to search for, such as { \"-----BEGIN\" }")
        }
        guard list.array.count <= maximumNeedles else {
            throw .message("\(name): at most \(maximumNeedles) strings per scan, got \(list.array.count)")
        }
        var needles: [[UInt8]] = []
        for (offset, item) in list.array.enumerated() {
            guard case .string(let bytes) = item, !bytes.isEmpty, bytes.count <= maximumNeedleBytes else {
                throw .message(
                    "\(name): item \(offset + 1) must be a string of 1 to \(maximumNeedleBytes) bytes, got \(item.typeName)")
            }
            needles.append(bytes)
        }
        return needles
    }

    /// Reads `{ max_bytes, max_file_bytes, max_matches, context }`; each may only lower kiln's limit.
    private static func readLimits(_ value: LuaValue, name: String) throws(HostFunctionError) -> ContentScanLimits {
        var limits = ContentScanLimits()
        guard let table = value.tableValue else {
            if value.isNil { return limits }
            throw .message("\(name): options must be a table, got \(value.typeName)")
        }
        for (key, entry) in table.entries {
            guard let field = key.stringValue, let number = entry.integerValue, number >= 0 else {
                throw .message("\(name): options take non-negative integers: max_bytes, max_file_bytes, max_matches, context")
            }
            switch field {
            case "max_bytes": limits.maximumBytes = min(limits.maximumBytes, number)
            case "max_file_bytes": limits.maximumFileBytes = min(limits.maximumFileBytes, number)
            case "max_matches": limits.maximumMatches = min(limits.maximumMatches, Int(number))
            case "context": limits.contextBytes = min(limits.contextBytes, Int(number))
            default:
                throw .message("\(name): unknown option '\(field)' (max_bytes, max_file_bytes, max_matches, context)")
            }
        }
        return limits
    }
}
