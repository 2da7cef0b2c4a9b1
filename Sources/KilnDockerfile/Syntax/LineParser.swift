import KilnDiagnostics

/// The first stage of parsing: physical lines to `SyntaxNode`s, as BuildKit's `parser.Parse` does.
///
/// - Parser directives are read until the first line that is not one.
/// - A line whose first non-blank character is `#` is a comment, also inside a continuation.
/// - An instruction continues while a line ends with the escape character (spaces and tabs may
///   follow it), unless the escape character is itself escaped. Whitespace-only lines inside a
///   continuation are skipped with a warning; the next line is still joined.
/// - `#` in the middle of a line is ordinary text, so a trailing `\` after it still continues.
/// - After a RUN, COPY or ADD line with heredoc markers, the following lines are the heredoc
///   contents up to each delimiter line.
struct LineParser {
    let source: SourceText
    private(set) var directives = DirectiveScanner()
    private var escape = Bytes.backslash

    init(source: SourceText) {
        self.source = source
    }

    mutating func parse() throws(DockerfileError) -> [SyntaxNode] {
        let bytes = source.bytes
        let lines = source.lines
        var nodes: [SyntaxNode] = []
        var comments: [String] = []
        var index = 0
        var logical: [UInt8] = []
        logical.reserveCapacity(256)

        while index < lines.count {
            let line = lines[index]
            let lineNumber = index + 1
            let trimmedStart = Bytes.skipSpaces(in: bytes, from: line.start, to: line.contentEnd)
            let isComment = trimmedStart < line.contentEnd && bytes[trimmedStart] == Bytes.hash
            if isComment {
                let textStart = Bytes.skipSpaces(in: bytes, from: trimmedStart + 1, to: line.contentEnd)
                let textEnd = Bytes.trimTrailingSpaces(in: bytes, from: textStart, to: line.contentEnd)
                if textStart == textEnd {
                    // An empty comment line separates a description from the comments above it.
                    comments.removeAll()
                } else {
                    comments.append(Bytes.string(bytes, textStart, textEnd))
                }
            }
            if !directives.done {
                if try directives.scan(bytes, trimmedStart, line.contentEnd, line: lineNumber, source: source) {
                    if !comments.isEmpty { comments.removeLast() }
                    escape = directives.directives.escapeByte
                }
            }
            index += 1
            if isComment { continue }

            let startLine = lineNumber
            var (segmentEnd, continues) = continuation(bytes, trimmedStart, line.contentEnd)
            if !continues && segmentEnd == trimmedStart { continue }
            logical.removeAll(keepingCapacity: true)
            logical.append(contentsOf: bytes[trimmedStart..<segmentEnd])

            var emptyLines: [Int] = []
            while continues && index < lines.count {
                let next = lines[index]
                index += 1
                let nextStart = Bytes.skipSpaces(in: bytes, from: next.start, to: next.contentEnd)
                if nextStart < next.contentEnd && bytes[nextStart] == Bytes.hash { continue }
                if nextStart == next.contentEnd {
                    emptyLines.append(index)
                    continue
                }
                (segmentEnd, continues) = continuation(bytes, next.start, next.contentEnd)
                logical.append(contentsOf: bytes[next.start..<segmentEnd])
            }

            var node = try makeNode(logical, 0, logical.count, startLine: startLine, endLine: index)
            node.comments = comments
            node.emptyContinuationLines = emptyLines
            comments.removeAll()

            if Self.canContainHeredoc(node) && logical.contains(Bytes.lessThan) {
                let line = String(decoding: logical, as: UTF8.self)
                for marker in HeredocMarker.markers(in: line) {
                    node.heredocs.append(try readHeredoc(marker, from: &index, startLine: startLine))
                }
                node.endLine = index
            }
            nodes.append(node)
        }

        guard !nodes.isEmpty else { throw DockerfileError(.noInstructions) }
        return nodes
    }

    /// Returns where a line's text ends without its continuation marker, and whether it
    /// continues: it does when it ends with the escape character, optionally followed by spaces
    /// and tabs, and not preceded by another escape character (BuildKit's
    /// `([^\\])\\[ \t]*$|^\\[ \t]*$`).
    private func continuation(_ bytes: [UInt8], _ start: Int, _ end: Int) -> (end: Int, continues: Bool) {
        var index = end
        while index > start, bytes[index - 1] == Bytes.space || bytes[index - 1] == Bytes.tab { index -= 1 }
        guard index > start, bytes[index - 1] == escape else { return (end, false) }
        let escapeIndex = index - 1
        if escapeIndex > start && bytes[escapeIndex - 1] == escape { return (end, false) }
        return (escapeIndex, true)
    }

    private func readHeredoc(_ marker: HeredocMarker, from index: inout Int, startLine: Int) throws(DockerfileError) -> Heredoc {
        let bytes = source.bytes
        let lines = source.lines
        let terminator = Array(marker.name.utf8)
        let firstContentLine = index + 1
        var contentStart: Int?
        var contentEnd = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            var start = line.start
            if marker.stripsLeadingTabs {
                while start < line.contentEnd && bytes[start] == Bytes.tab { start += 1 }
            }
            if line.contentEnd - start == terminator.count && bytes[start..<line.contentEnd].elementsEqual(terminator) {
                let content = contentStart.map { Bytes.string(bytes, $0, contentEnd) } ?? ""
                let contentLines = contentStart == nil ? nil : firstContentLine...(index - 1)
                return Heredoc(
                    name: marker.name, content: content, stripsLeadingTabs: marker.stripsLeadingTabs,
                    expandsVariables: marker.expandsVariables, fileDescriptor: marker.fileDescriptor,
                    contentLines: contentLines)
            }
            if contentStart == nil { contentStart = line.start }
            contentEnd = line.end
        }
        throw DockerfileError(.unterminatedHeredoc(marker.name), at: source.range(startLine, max(index, startLine)), in: source)
    }

    /// Only RUN, COPY and ADD in shell form (or ONBUILD wrapping one) read heredocs.
    private static func canContainHeredoc(_ node: SyntaxNode) -> Bool {
        var target = node
        if node.kind == .onbuild, case .trigger(let trigger) = node.arguments {
            target = trigger
        }
        switch target.kind {
        case .run?, .copy?, .add?: return !target.arguments.isJSON
        default: return false
        }
    }

    /// Splits one logical line into a node, choosing the argument parser by instruction.
    private func makeNode(
        _ bytes: [UInt8], _ start: Int, _ end: Int, startLine: Int, endLine: Int, isTrigger: Bool = false
    ) throws(DockerfileError) -> SyntaxNode {
        let (keyword, kind, restStart, restEnd) = ArgumentSplitter.splitKeyword(bytes, start, end)
        let (flags, argumentsStart) = ArgumentSplitter.extractFlags(bytes, restStart, restEnd)
        let argsStart = Bytes.skipSpaces(in: bytes, from: argumentsStart, to: restEnd)
        let argsEnd = Bytes.trimTrailingSpaces(in: bytes, from: argsStart, to: restEnd)
        let originalStart = Bytes.skipSpaces(in: bytes, from: start, to: end)
        let originalEnd = Bytes.trimTrailingSpaces(in: bytes, from: originalStart, to: end)
        var node = SyntaxNode(
            keyword: keyword, kind: kind, flags: flags, arguments: .none,
            original: Bytes.string(bytes, originalStart, originalEnd), startLine: startLine, endLine: endLine)
        guard let kind else { return node }
        let range = source.range(startLine, endLine)
        let name = kind.rawValue

        switch kind {
        case .add, .copy, .volume:
            (node.arguments, node.jsonNote) = try jsonOrWords(bytes, argsStart, argsEnd, keyword: name, range: range)
        case .cmd, .entrypoint, .run, .shell:
            (node.arguments, node.jsonNote) = try jsonOrText(bytes, argsStart, argsEnd, keyword: name, range: range)
        case .arg:
            let words = ArgumentSplitter.quotedWords(bytes, argsStart, argsEnd, escape: escape)
            node.arguments = words.isEmpty ? .none : .words(words)
        case .env, .label:
            node.arguments = try pairs(bytes, argsStart, argsEnd, keyword: name, range: range)
        case .expose, .from:
            let words = ArgumentSplitter.whitespaceWords(bytes, argsStart, argsEnd)
            node.arguments = words.isEmpty ? .none : .words(words)
        case .healthcheck:
            (node.arguments, node.jsonNote) = try healthcheck(bytes, argsStart, argsEnd, keyword: name, range: range)
        case .maintainer, .stopSignal, .user, .workdir:
            node.arguments = argsStart == argsEnd ? .none : .text(Bytes.string(bytes, argsStart, argsEnd))
        case .onbuild:
            // A trigger cannot be ONBUILD itself, so one level is enough; not descending further
            // keeps `ONBUILD ONBUILD ONBUILD ...` from recursing once per word.
            if argsStart < argsEnd && !isTrigger {
                node.arguments = .trigger(
                    try makeNode(bytes, argsStart, argsEnd, startLine: startLine, endLine: endLine, isTrigger: true))
            }
        }
        return node
    }

    /// BuildKit's `parseMaybeJSON`: an exec-form array, or the text as one shell-form string.
    private func jsonOrText(_ bytes: [UInt8], _ start: Int, _ end: Int, keyword: String, range: SourceRange) throws(DockerfileError) -> (SyntaxArguments, JSONNote?) {
        guard start < end else { return (.none, nil) }
        switch JSONArrayDecoder.decode(bytes, start, end) {
        case .strings(let strings, let trailing):
            return (.json(strings), trailing.isEmpty ? nil : .trailingText(trailing))
        case .notStrings:
            throw DockerfileError(.jsonNotStrings(keyword.uppercased()), at: range, in: source)
        case .invalid(let reason):
            let note: JSONNote? = bytes[start] == Bytes.openBracket ? .invalid(reason: reason) : nil
            return (.text(Bytes.string(bytes, start, end)), note)
        }
    }

    /// BuildKit's `parseMaybeJSONToList`: an exec-form array, or whitespace-separated words.
    private func jsonOrWords(_ bytes: [UInt8], _ start: Int, _ end: Int, keyword: String, range: SourceRange) throws(DockerfileError) -> (SyntaxArguments, JSONNote?) {
        switch JSONArrayDecoder.decode(bytes, start, end) {
        case .strings(let strings, let trailing):
            return (.json(strings), trailing.isEmpty ? nil : .trailingText(trailing))
        case .notStrings:
            throw DockerfileError(.jsonNotStrings(keyword.uppercased()), at: range, in: source)
        case .invalid(let reason):
            let words = ArgumentSplitter.whitespaceWords(bytes, start, end)
            let note: JSONNote? = start < end && bytes[start] == Bytes.openBracket ? .invalid(reason: reason) : nil
            return (words.isEmpty ? .none : .words(words), note)
        }
    }

    /// ENV and LABEL: `key=value` words, or the legacy `key value` where the value is the rest of
    /// the line (BuildKit's `parseNameVal`).
    private func pairs(_ bytes: [UInt8], _ start: Int, _ end: Int, keyword: String, range: SourceRange) throws(DockerfileError) -> SyntaxArguments {
        let words = ArgumentSplitter.quotedWords(bytes, start, end, escape: escape)
        guard let first = words.first else { return .none }
        guard first.includes("=") else {
            var separator = start
            while separator < end, !Bytes.isFieldSeparator(bytes[separator]) { separator += 1 }
            var valueStart = separator
            while valueStart < end, Bytes.isFieldSeparator(bytes[valueStart]) { valueStart += 1 }
            guard separator < end else {
                throw DockerfileError(.legacyPairMissingValue(keyword.uppercased()), at: range, in: source)
            }
            let pair = KeyValuePair(
                key: Bytes.string(bytes, start, separator), value: Bytes.string(bytes, valueStart, end), hasEquals: false)
            return .pairs([pair])
        }
        var pairs: [KeyValuePair] = []
        pairs.reserveCapacity(words.count)
        for word in words {
            guard let equals = word.utf8.firstIndex(of: Bytes.equals) else {
                throw DockerfileError(.pairMissingEquals(keyword.uppercased(), word: word), at: range, in: source)
            }
            pairs.append(KeyValuePair(key: String(word[..<equals]), value: String(word[word.utf8.index(after: equals)...])))
        }
        return .pairs(pairs)
    }

    /// HEALTHCHECK: the first word is the type, the rest a command in exec or shell form.
    private func healthcheck(_ bytes: [UInt8], _ start: Int, _ end: Int, keyword: String, range: SourceRange) throws(DockerfileError) -> (SyntaxArguments, JSONNote?) {
        guard start < end else { return (.none, nil) }
        var separator = start
        while separator < end, !Bytes.isASCIISpace(bytes[separator]) { separator += 1 }
        var commandStart = separator
        while commandStart < end, Bytes.isASCIISpace(bytes[commandStart]) { commandStart += 1 }
        let (command, note) = try jsonOrText(bytes, commandStart, end, keyword: keyword, range: range)
        return (.healthcheck(type: Bytes.string(bytes, start, separator), command: command), note)
    }
}
