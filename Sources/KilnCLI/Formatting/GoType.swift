/// The type of a value that a `--format` template reads, as the Go structs behind Docker's output
/// declare it.
///
/// kiln's outputs are JSON documents that leave empty fields out, as Docker's JSON does, but the
/// Docker CLI runs templates over typed structs. The type lists the field names that exist, and
/// a field that the document leaves out reads as Go's zero value of the field's type.
indirect enum GoType: Sendable {
    case string
    case integer
    case bool
    /// `interface{}`, or a value that kiln does not describe: fields of an object are looked up
    /// as in JSON decoded into a map.
    case any
    case list(GoType)
    /// A map with string keys: a missing key is no error.
    case map(GoType)
    case structure(GoStruct)
    /// A pointer, which prints `<nil>` when unset.
    case pointer(GoType)
    /// Go's invalid value, which a field of a map without that key gives: it prints
    /// `<no value>`, and so does every field read from it.
    case invalid

    /// Go's zero value of the type, as kiln's templates hold it.
    var zeroValue: OutputJSON {
        switch self {
        case .string: .string("")
        case .integer: .integer(0)
        case .bool: .bool(false)
        case .any, .invalid: .null
        case .list: .nullList
        case .map: .nullMap
        case .pointer: .nilPointer
        case .structure(let goStruct): goStruct.zeroValue
        }
    }

    /// The type as Go's messages spell it, such as `[]string` or `map[string]string`.
    var goName: String {
        switch self {
        case .string: "string"
        case .integer: "int"
        case .bool: "bool"
        case .any, .invalid: "interface {}"
        case .list(let element): "[]" + element.goName
        case .map(let element): "map[string]" + element.goName
        case .pointer(let target): "*" + target.goName
        case .structure(let goStruct): goStruct.typeName ?? "struct"
        }
    }

    /// The type of the elements that `range` and `index` give, for a list or a map.
    var elementType: GoType? {
        switch self {
        case .list(let element), .map(let element): element
        case .pointer(let target): target.elementType
        default: nil
        }
    }
}

/// The fields of a Go struct, by the names that a template may use.
struct GoStruct: Sendable {
    struct Field: Sendable {
        /// The member's key in kiln's JSON document.
        var key: String
        var type: GoType
    }

    /// The Go type that "can't evaluate field" errors name, such as `*formatter.imageContext`.
    /// It is nil for inspect structs, whose unknown fields fail as the Docker CLI's fallback to
    /// the raw JSON reports them: `map has no entry for key`.
    var typeName: String?
    var fields: [String: Field]

    /// Creates a struct with `members`, each a JSON key and its type. `goNames` maps the Go name of a
    /// field whose JSON key differs (`ID` for `Id`) to that key: the Docker CLI runs a template
    /// over the Go struct first and over the JSON after, so both names work there.
    init(_ members: [(String, GoType)], typeName: String? = nil, goNames: [String: String] = [:]) {
        self.typeName = typeName
        var fields: [String: Field] = [:]
        for (key, type) in members {
            fields[key] = Field(key: key, type: type)
        }
        for (goName, key) in goNames {
            fields[goName] = fields[key]
        }
        self.fields = fields
    }

    /// An object with every field at its zero value, keyed by JSON key.
    var zeroValue: OutputJSON {
        var members: [String: OutputJSON] = [:]
        for field in fields.values {
            members[field.key] = field.type.zeroValue
        }
        return .map(members)
    }
}
