/// The options of a `--mount` value as written, split like Go's CSV reader splits one record.
struct MountFields: Sendable, Hashable {
    /// Keys in lower case, and values (nil for a bare word such as `ro`), in order.
    var values: [(key: String, value: String?)]

    static func == (lhs: MountFields, rhs: MountFields) -> Bool {
        lhs.values.elementsEqual(rhs.values) { $0.key == $1.key && $0.value == $1.value }
    }

    func hash(into hasher: inout Hasher) {
        for (key, value) in values {
            hasher.combine(key)
            hasher.combine(value)
        }
    }

    init(values: [(key: String, value: String?)]) {
        self.values = values
    }

    init(parsing text: String) throws(MountFailure) {
        var values: [(String, String?)] = []
        for field in try Self.csvFields(text) {
            if let equals = field.firstIndex(of: "=") {
                values.append((field[..<equals].lowercased(), String(field[field.index(after: equals)...])))
            } else {
                values.append((field.lowercased(), nil))
            }
        }
        self.values = values
    }

    /// Splits one CSV record into fields: `,` separates, `"` quotes a field and `""` is a quote
    /// inside a quoted field.
    static func csvFields(_ text: String) throws(MountFailure) -> [String] {
        guard !text.isEmpty else { throw .csv("it is empty") }

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
                guard scalar == "," else { throw .csv("extraneous \" in field at column \(column)") }
            }

            if scalar == "," {
                fields.append(String(field))
                field = String.UnicodeScalarView()
                atFieldStart = true
                continue
            }
            if scalar == "\"" {
                guard atFieldStart else { throw .csv("bare \" in non-quoted field at column \(column)") }
                inQuotes = true
                atFieldStart = false
                continue
            }
            atFieldStart = false
            field.append(scalar)
        }

        if inQuotes { throw .csv("a quoted field is not closed") }
        fields.append(String(field))
        return fields
    }
}
