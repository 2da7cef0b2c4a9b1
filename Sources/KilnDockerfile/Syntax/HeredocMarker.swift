/// A `<<NAME` word in an instruction line that opens a here-document, recognised as BuildKit does.
struct HeredocMarker: Equatable {
    var name: String
    var stripsLeadingTabs: Bool
    var expandsVariables: Bool
    var fileDescriptor: Int

    /// Returns every heredoc marker of a RUN, COPY or ADD line, in order. The line is split into
    /// words with quotes and escapes kept, so `\<<EOF` and `'<<EOF'` are not markers. A line that
    /// does not split, because a quote is not closed, has no markers.
    static func markers(in line: String) -> [HeredocMarker] {
        var options = ShellWordProcessor.Options()
        options.rawQuotes = true
        options.rawEscapes = true
        options.skipUnsetVariables = true
        var processor = ShellWordProcessor(line, variables: NoVariables(), options: options)
        guard let words = try? processor.process().words else { return [] }
        return words.compactMap { HeredocMarker(word: $0) }
    }

    /// Matches `^(\d*)<<(-?)([^<]*)$`; the part after `<<` must be a single shell word.
    init?(word: String) {
        let scalars = Array(word.unicodeScalars)
        var index = 0
        while index < scalars.count, scalars[index].value >= 0x30, scalars[index].value <= 0x39 { index += 1 }
        let digits = String(String.UnicodeScalarView(scalars[0..<index]))
        guard index + 1 < scalars.count, scalars[index] == "<", scalars[index + 1] == "<" else { return nil }
        index += 2
        var chomp = false
        if index < scalars.count, scalars[index] == "-" {
            chomp = true
            index += 1
        }
        let rest = scalars[index...]
        guard !rest.isEmpty, !rest.contains("<") else { return nil }
        let restText = String(String.UnicodeScalarView(rest))

        // Decode the delimiter twice, with and without quotes: if quotes were removed, some part
        // was quoted and the content is not expanded.
        var plainOptions = ShellWordProcessor.Options()
        plainOptions.skipUnsetVariables = true
        var plain = ShellWordProcessor(restText, variables: NoVariables(), options: plainOptions)
        guard let words = try? plain.process().words, words.count == 1 else { return nil }
        var rawOptions = plainOptions
        rawOptions.rawQuotes = true
        var raw = ShellWordProcessor(restText, variables: NoVariables(), options: rawOptions)
        guard let rawWords = try? raw.process().words, rawWords.count == 1 else { return nil }

        func quoteCount(_ text: String) -> Int {
            text.unicodeScalars.reduce(0) { $0 + ($1 == "'" || $1 == "\"" ? 1 : 0) }
        }
        name = words[0]
        stripsLeadingTabs = chomp
        expandsVariables = quoteCount(words[0]) == quoteCount(rawWords[0])
        fileDescriptor = Int(digits) ?? 0
    }
}
