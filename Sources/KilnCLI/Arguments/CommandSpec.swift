import KilnDiagnostics

/// The declaration of one command: its name, flags, arguments, help and the code that runs it.
///
/// A command with `subcommands` is a group (`kiln image`); the parser descends into it and runs
/// the chosen child. A group has no `run` of its own and prints its help when called alone.
public struct CommandSpec: Sendable {
    public typealias Run = @Sendable (ParsedArguments, CommandContext) async throws -> Int32

    /// How many positional arguments a command takes, for the check before `run` and for errors.
    public enum Arity: Sendable, Equatable {
        case none
        case exactly(Int)
        case atLeast(Int)
        case range(ClosedRange<Int>)

        func allows(_ count: Int) -> Bool {
            switch self {
            case .none: count == 0
            case .exactly(let n): count == n
            case .atLeast(let n): count >= n
            case .range(let range): range.contains(count)
            }
        }

        /// "exactly 1 argument", "at least 1 argument", "no arguments", as Docker words it.
        var phrase: String {
            func arguments(_ n: Int) -> String { n == 1 ? "1 argument" : "\(n) arguments" }
            switch self {
            case .none: return "no arguments"
            case .exactly(let n): return "exactly \(arguments(n))"
            case .atLeast(let n): return "at least \(arguments(n))"
            case .range(let range):
                return "at least \(arguments(range.lowerBound)) and at most \(arguments(range.upperBound))"
            }
        }
    }

    public var name: String
    /// Other names under the same parent (`ls` and `list` for `kiln image ls`).
    public var aliases: [String]
    /// One line for command lists.
    public var summary: String
    /// The argument part of the usage line: `[OPTIONS] PATH | -`.
    public var usage: String
    /// Paragraphs printed after the summary in `--help`.
    public var discussion: String?
    public var flags: [FlagSpec]
    public var arity: Arity
    /// When false, the first positional argument ends flag parsing, so that in
    /// `kiln run IMAGE ls -la` the `-la` belongs to the container command.
    public var interspersed: Bool
    public var subcommands: [CommandSpec]
    /// The heading under which a group lists this command in help (`Common Commands`).
    public var category: String?
    public var hidden: Bool
    public var run: Run?

    public init(
        name: String,
        aliases: [String] = [],
        summary: String,
        usage: String = "[OPTIONS]",
        discussion: String? = nil,
        flags: [FlagSpec] = [],
        arity: Arity = .none,
        interspersed: Bool = true,
        category: String? = nil,
        hidden: Bool = false,
        run: @escaping Run
    ) {
        self.name = name
        self.aliases = aliases
        self.summary = summary
        self.usage = usage
        self.discussion = discussion
        self.flags = flags
        self.arity = arity
        self.interspersed = interspersed
        self.subcommands = []
        self.category = category
        self.hidden = hidden
        self.run = run
    }

    /// A group of commands, such as `kiln image`.
    public init(
        group name: String,
        aliases: [String] = [],
        summary: String,
        category: String? = nil,
        hidden: Bool = false,
        subcommands: [CommandSpec]
    ) {
        self.name = name
        self.aliases = aliases
        self.summary = summary
        self.usage = "COMMAND"
        self.discussion = nil
        self.flags = []
        self.arity = .none
        self.interspersed = false
        self.subcommands = subcommands
        self.category = category
        self.hidden = hidden
        self.run = nil
    }

    /// The same command under another name and category, such as `kiln images` for `kiln image ls`.
    public func renamed(_ name: String, aliases: [String] = [], category: String? = nil) -> CommandSpec {
        var copy = self
        copy.name = name
        copy.aliases = aliases
        copy.category = category
        return copy
    }

    func subcommand(named name: String) -> CommandSpec? {
        subcommands.first { $0.name == name || $0.aliases.contains(name) }
    }
}
