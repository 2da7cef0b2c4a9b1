/// Splits instruction text the ways BuildKit's line parsers do. All functions work on a byte
/// range of one logical line.
enum ArgumentSplitter {
    /// Separates the instruction word from the rest at the first run of `[\t\v\f\r ]` after
    /// trimming, as BuildKit's `splitCommand` does.
    static func splitKeyword(_ bytes: [UInt8], _ start: Int, _ end: Int) -> (keyword: String, kind: Keyword?, restStart: Int, restEnd: Int) {
        let trimmedStart = Bytes.skipSpaces(in: bytes, from: start, to: end)
        let trimmedEnd = Bytes.trimTrailingSpaces(in: bytes, from: trimmedStart, to: end)
        var index = trimmedStart
        while index < trimmedEnd, !Bytes.isFieldSeparator(bytes[index]) { index += 1 }
        let keyword = Bytes.string(bytes, trimmedStart, index)
        let kind = Keyword(bytes: bytes, trimmedStart, index)
        while index < trimmedEnd, Bytes.isFieldSeparator(bytes[index]) { index += 1 }
        return (keyword, kind, index, trimmedEnd)
    }

    /// Leading `--flag` words, with quotes removed and `\` escapes applied, and where the rest of
    /// the line starts (BuildKit's `extractBuilderFlags`). A bare `--` ends the flags.
    static func extractFlags(_ bytes: [UInt8], _ start: Int, _ end: Int) -> (flags: [String], restStart: Int) {
        var flags: [String] = []
        var position = start
        while true {
            while position < end, Bytes.isASCIISpace(bytes[position]) { position += 1 }
            guard position + 1 < end, bytes[position] == Bytes.dash, bytes[position + 1] == Bytes.dash else {
                return (flags, position)
            }
            var word: [UInt8] = []
            var quote: UInt8 = 0
            var sawQuote = false
            while position < end {
                let byte = bytes[position]
                if quote == 0 {
                    if Bytes.isASCIISpace(byte) { break }
                    if byte == Bytes.singleQuote || byte == Bytes.doubleQuote {
                        quote = byte
                        sawQuote = true
                        position += 1
                        continue
                    }
                } else if byte == quote {
                    quote = 0
                    position += 1
                    continue
                }
                if byte == Bytes.backslash {
                    position += 1
                    if position == end {
                        quote = 0
                        break
                    }
                    word.append(bytes[position])
                    position += 1
                    continue
                }
                word.append(byte)
                position += 1
            }
            if word.count == 2, word[0] == Bytes.dash, word[1] == Bytes.dash {
                return (flags, position)
            }
            if !word.isEmpty || sawQuote {
                flags.append(String(decoding: word, as: UTF8.self))
            }
        }
    }

    /// Words separated by `[\t\v\f\r ]+` (BuildKit's `parseStringsWhitespaceDelimited`).
    static func whitespaceWords(_ bytes: [UInt8], _ start: Int, _ end: Int) -> [String] {
        var words: [String] = []
        var index = start
        while index < end {
            while index < end, Bytes.isFieldSeparator(bytes[index]) { index += 1 }
            let wordStart = index
            while index < end, !Bytes.isFieldSeparator(bytes[index]) { index += 1 }
            if index > wordStart { words.append(Bytes.string(bytes, wordStart, index)) }
        }
        return words
    }

    /// Words separated by whitespace, keeping quotes and escapes in the words for later
    /// expansion (BuildKit's `parseWords`, used by ENV, LABEL and ARG).
    static func quotedWords(_ bytes: [UInt8], _ start: Int, _ end: Int, escape: UInt8) -> [String] {
        var words: [String] = []
        var word: [UInt8] = []
        var inWord = false
        var quote: UInt8 = 0
        var keepEmpty = false
        var index = start
        while index < end {
            let byte = bytes[index]
            if quote == 0 {
                let space = Bytes.spaceLength(in: bytes, at: index, end: end)
                if space > 0 {
                    if inWord && (keepEmpty || !word.isEmpty) {
                        words.append(String(decoding: word, as: UTF8.self))
                    }
                    word.removeAll(keepingCapacity: true)
                    inWord = false
                    keepEmpty = false
                    index += space
                    continue
                }
                inWord = true
                if byte == Bytes.singleQuote || byte == Bytes.doubleQuote {
                    quote = byte
                    keepEmpty = true
                } else if byte == escape {
                    // An escape keeps itself and the next byte; at the end of the line it is dropped.
                    if index + 1 == end { break }
                    word.append(byte)
                    index += 1
                }
                word.append(bytes[index])
                index += 1
                continue
            }
            if byte == quote {
                quote = 0
            } else if byte == escape && quote != Bytes.singleQuote {
                if index + 1 == end {
                    quote = 0
                    index += 1
                    continue
                }
                word.append(byte)
                index += 1
            }
            word.append(bytes[index])
            index += 1
        }
        if inWord && (keepEmpty || !word.isEmpty) {
            words.append(String(decoding: word, as: UTF8.self))
        }
        return words
    }
}
