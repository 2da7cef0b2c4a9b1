/// The command of RUN, CMD, ENTRYPOINT or HEALTHCHECK CMD, in the form it was written.
public enum CommandForm: Sendable, Hashable, Codable {
    /// Shell form: one string that the stage's shell runs (`/bin/sh -c` unless SHELL changed it).
    case shell(String)
    /// Exec form: a JSON array, run without a shell.
    case exec([String])

    /// Returns the arguments the runtime receives, with `shell` (the stage's SHELL) prepended to
    /// shell form, as Docker builds them.
    public func arguments(shell: [String] = ["/bin/sh", "-c"]) -> [String] {
        switch self {
        case .shell(let text): shell + [text]
        case .exec(let arguments): arguments
        }
    }

    public var isShellForm: Bool {
        if case .shell = self { return true }
        return false
    }

    private enum CodingKeys: String, CodingKey {
        case shell
        case exec
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try container.decodeIfPresent(String.self, forKey: .shell) {
            self = .shell(text)
        } else {
            self = .exec(try container.decode([String].self, forKey: .exec))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .shell(let text): try container.encode(text, forKey: .shell)
        case .exec(let arguments): try container.encode(arguments, forKey: .exec)
        }
    }
}
