/// One record of comma-separated values, split as Go's `encoding/csv` reader splits a line with
/// its default settings. Docker's CLI and buildx read `--mount`, `--output` and `--secret`
/// values this way, so a path with a comma can be written in quotes: `"dest=a,b"`.
public enum CSVRecord {
    /// The reason a record is not valid CSV, such as a quote in the middle of a field.
    public struct Failure: Error, Equatable, Sendable {
        public var reason: String
    }

    /// Splits `text` into fields: `,` separates, `"` quotes a whole field and `""` is a quote
    /// inside a quoted field. An empty text is one empty field.
    public static func fields(_ text: String) throws(Failure) -> [String] {
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        var atFieldStart = true
        var inQuotes = false
        var afterClosingQuote = false
        var column = 0
        while let scalar = scalars.next() {
            column += 1

            if inQuotes {
                if scalar == "\"" {
                    inQuotes = false
                    afterClosingQuote = true
                } else {
                    field.append(scalar)
                }
                continue
            }
            if afterClosingQuote {
                afterClosingQuote = false
                if scalar == "\"" {
                    // A doubled quote inside a quoted field.
                    field.append("\"")
                    inQuotes = true
                    continue
                }
                guard scalar == "," else { throw Failure(reason: "extraneous \" in field at column \(column)") }
            }

            if scalar == "," {
                fields.append(String(field))
                field = String.UnicodeScalarView()
                atFieldStart = true
                continue
            }
            if scalar == "\"" {
                guard atFieldStart else { throw Failure(reason: "bare \" in non-quoted field at column \(column)") }
                inQuotes = true
                atFieldStart = false
                continue
            }
            atFieldStart = false
            field.append(scalar)
        }

        if inQuotes { throw Failure(reason: "a quoted field is not closed") }
        fields.append(String(field))
        return fields
    }
}
