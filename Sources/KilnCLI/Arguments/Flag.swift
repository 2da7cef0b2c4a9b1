/// The declaration of one command-line flag: its names, whether it takes a value, and its help.
///
/// Commands declare each flag once, as a static `BoolFlag`, `ValueFlag` or `ListFlag`; the parser,
/// the help text and the error messages all come from that declaration.
public struct FlagSpec: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// `--rm`, `--rm=false`.
        case bool
        /// `--file FILE`, `--file=FILE`, `-f FILE`, `-fFILE`; the last occurrence wins.
        case value
        /// `-t a -t b`: every occurrence is kept, in order.
        case list
    }

    /// The long name without dashes: `tag` for `--tag`.
    public var long: String
    /// The one-letter name without the dash: `t` for `-t`.
    public var short: Character?
    public var kind: Kind
    /// The value's name in help, such as `string`, `list` or `NAME[:TAG]`.
    public var placeholder: String
    public var help: String
    /// The default as help shows it, such as `"PATH/Dockerfile"` or `10`.
    public var defaultDescription: String?
    /// Hidden flags parse but are left out of help.
    public var hidden: Bool

    public init(
        long: String,
        short: Character? = nil,
        kind: Kind,
        placeholder: String,
        help: String,
        defaultDescription: String? = nil,
        hidden: Bool = false
    ) {
        self.long = long
        self.short = short
        self.kind = kind
        self.placeholder = placeholder
        self.help = help
        self.defaultDescription = defaultDescription
        self.hidden = hidden
    }

    /// `-t, --tag` or `    --no-cache`, as help and errors show the flag.
    var displayNames: String {
        if let short {
            return "-\(short), --\(long)"
        }
        return "    --\(long)"
    }
}

/// A flag that is on or off: `--quiet`, `-q`, `--rm=false`.
public struct BoolFlag: Sendable {
    public let spec: FlagSpec

    public init(_ long: String, short: Character? = nil, help: String, hidden: Bool = false) {
        spec = FlagSpec(long: long, short: short, kind: .bool, placeholder: "", help: help, hidden: hidden)
    }
}

/// A flag that takes one value; given twice, the last one wins.
public struct ValueFlag: Sendable {
    public let spec: FlagSpec

    public init(
        _ long: String,
        short: Character? = nil,
        placeholder: String = "string",
        help: String,
        default defaultDescription: String? = nil,
        hidden: Bool = false
    ) {
        spec = FlagSpec(
            long: long, short: short, kind: .value, placeholder: placeholder, help: help,
            defaultDescription: defaultDescription, hidden: hidden)
    }
}

/// A flag that may be repeated, each occurrence adding a value: `-t a -t b`, `--build-arg K=V`.
public struct ListFlag: Sendable {
    public let spec: FlagSpec

    public init(
        _ long: String,
        short: Character? = nil,
        placeholder: String = "list",
        help: String,
        default defaultDescription: String? = nil,
        hidden: Bool = false
    ) {
        spec = FlagSpec(
            long: long, short: short, kind: .list, placeholder: placeholder, help: help,
            defaultDescription: defaultDescription, hidden: hidden)
    }
}
