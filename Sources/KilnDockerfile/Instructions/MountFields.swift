import KilnDiagnostics

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

    /// Splits one CSV record into fields as `CSVRecord` does, but rejects an empty text.
    static func csvFields(_ text: String) throws(MountFailure) -> [String] {
        guard !text.isEmpty else { throw .csv("it is empty") }
        do {
            return try CSVRecord.fields(text)
        } catch {
            throw .csv(error.reason)
        }
    }
}
