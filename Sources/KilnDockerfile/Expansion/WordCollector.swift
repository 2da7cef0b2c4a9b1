/// Collects words as BuildKit does: unquoted whitespace ends a word, quoted text and escaped
/// characters never do, and an empty word (`""`) is dropped.
struct WordCollector {
    /// False when the caller needs only the whole word, so collecting words is skipped.
    let enabled: Bool
    private var word = String.UnicodeScalarView()
    private var words: [String] = []

    init(enabled: Bool) {
        self.enabled = enabled
    }

    mutating func add(_ scalar: Unicode.Scalar) {
        guard enabled else { return }
        if scalar.isGoSpace {
            if !word.isEmpty {
                words.append(String(word))
                word = String.UnicodeScalarView()
            }
        } else {
            word.append(scalar)
        }
    }

    mutating func addRaw(_ scalar: Unicode.Scalar) {
        guard enabled else { return }
        word.append(scalar)
    }

    mutating func addRaw(_ text: String.UnicodeScalarView) {
        guard enabled else { return }
        word.append(contentsOf: text)
    }

    mutating func addSplitting(_ text: String) {
        guard enabled else { return }
        for scalar in text.unicodeScalars { add(scalar) }
    }

    mutating func finish() -> [String] {
        if !word.isEmpty {
            words.append(String(word))
            word = String.UnicodeScalarView()
        }
        return words
    }
}

extension Unicode.Scalar {
    /// Go's `unicode.IsSpace`.
    var isGoSpace: Bool {
        switch value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Go's `unicode.IsDigit`: a decimal digit in any script.
    var isDecimalDigit: Bool {
        if value < 0x80 { return value >= 0x30 && value <= 0x39 }
        return properties.generalCategory == .decimalNumber
    }

    /// Go's `unicode.IsLetter`: any Unicode letter.
    var isLetter: Bool {
        if value < 0x80 { return (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A) }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }
}
