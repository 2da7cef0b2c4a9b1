/// Splits a custom instruction's arguments into words the way a POSIX shell splits them, for
/// its `args`: blanks separate words, single quotes keep everything, double quotes keep all but
/// `\"` and `\\`, and a backslash outside quotes keeps the next character. Variables are not
/// expanded, and an unclosed quote runs to the end of the text.
enum ShellWords {
    static func split(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            switch (quote, character) {
            case (nil, "\\"):
                escaped = true
                inWord = true
            case (nil, "'"), (nil, "\""):
                quote = character
                inWord = true
            case (nil, " "), (nil, "\t"):
                if inWord { words.append(current) }
                current = ""
                inWord = false
            case (nil, _):
                current.append(character)
                inWord = true
            case ("\"", "\\"):
                escaped = true
            case (let open?, _) where character == open:
                quote = nil
            default:
                current.append(character)
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
