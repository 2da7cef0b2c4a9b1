/// Sizes as Docker's `units.RAMInBytes` reads them: a number with an optional binary unit
/// (`b`, `k`, `m`, `g`, `t`, `p`, optionally followed by `b` or `ib`), case-insensitive.
enum ByteSize {
    static func parse(_ text: String) -> Int64? {
        let lowered = text.lowercased()
        var numberEnd = lowered.startIndex
        while numberEnd < lowered.endIndex, lowered[numberEnd].isNumber || lowered[numberEnd] == "." {
            numberEnd = lowered.index(after: numberEnd)
        }
        guard let number = Double(lowered[..<numberEnd]), number >= 0 else { return nil }
        var unit = lowered[numberEnd...].trimmingCharacters(in: " ")
        if unit.hasSuffix("ib") { unit.removeLast(2) } else if unit.hasSuffix("b") && unit.count == 2 { unit.removeLast() }
        let multiplier: Double
        switch unit {
        case "", "b": multiplier = 1
        case "k": multiplier = 1024
        case "m": multiplier = 1024 * 1024
        case "g": multiplier = 1024 * 1024 * 1024
        case "t": multiplier = 1024 * 1024 * 1024 * 1024
        case "p": multiplier = 1024 * 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        let bytes = number * multiplier
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }
}

extension StringProtocol {
    func trimmingCharacters(in character: Character) -> String {
        var view = self[...]
        while view.first == character { view = view.dropFirst() }
        while view.last == character { view = view.dropLast() }
        return String(view)
    }
}
