/// The variables in scope at a build step, kept by Docker's scoping rules for ARG and ENV:
///
/// - ARG before the first FROM declares a global build argument. Only FROM lines see globals.
/// - Inside a stage, `ARG NAME` makes NAME visible: the `--build-arg` value if there is one, else
///   the default written here, else the global value of the same name, else unset.
/// - ENV and an ARG with a value both set the variable, and the later one wins, as in BuildKit
///   (Docker's legacy builder let ENV win over ARG whatever the order). Only ENV goes into the
///   image config's environment.
/// - A `--build-arg` that no ARG declares is not visible.
///
/// The engine feeds instructions through it in order and expands each one with it:
///
///     var scope = VariableScope(buildArguments: ["VERSION": "1.2"])
///     try scope.declareGlobal(arg, expander: expander)            // ARG before FROM
///     let from = try instruction.expanded(with: scope.globals)    // FROM
///     scope.enterStage(environment: baseImage.config.env)
///     let step = try instruction.expanded(with: scope)            // any other instruction
///     try scope.apply(step.instruction, expander: expander)      // after ARG and ENV
public struct VariableScope: VariableLookup, Sendable {
    /// `--build-arg NAME=value` pairs given for the build.
    public var buildArguments: [String: String]
    /// The global build arguments that have a value, plus the automatic platform arguments.
    public private(set) var globals: [String: String]
    /// The stage's environment for the image config: the base image's, then ENV.
    public private(set) var environment: [String: String] = [:]
    /// The stage's declared build arguments in declaration order; nil means declared but unset.
    public private(set) var arguments: [(name: String, value: String?)] = []
    /// The variables that expansions and RUN steps use: the environment and the build arguments
    /// with a value, the later definition winning.
    private var visible: [String: String] = [:]

    /// `automaticArguments` are the platform arguments BuildKit defines in the global scope
    /// (`BUILDPLATFORM`, `TARGETPLATFORM`, `TARGETOS`, `TARGETARCH`, ...).
    public init(buildArguments: [String: String] = [:], automaticArguments: [String: String] = [:]) {
        self.buildArguments = buildArguments
        self.globals = automaticArguments
    }

    public func value(of name: String) -> String? {
        visible[name]
    }

    /// The environment of a RUN step as `NAME=value` entries, sorted by name: the stage's
    /// environment and its build arguments that have a value.
    public var runEnvironment: [String] {
        visible.keys.sorted().map { "\($0)=\(visible[$0] ?? "")" }
    }

    /// Records ARG declarations that come before the first FROM. `declarations` are as written;
    /// names and defaults are expanded with the globals declared before them.
    public mutating func declareGlobal(_ declarations: [ArgInstruction.Declaration], expander: ShellExpander = ShellExpander()) throws(DockerfileError) {
        for declaration in declarations {
            let name = try expander.expandWord(declaration.name, with: globals)
            if let value = buildArguments[name] {
                globals[name] = value
            } else if let defaultValue = declaration.defaultValue {
                globals[name] = try expander.expandWord(defaultValue, with: globals)
            } else {
                globals[name] = nil
            }
        }
    }

    /// Starts a stage: clears the stage's arguments and takes the base image's environment
    /// (`NAME=value` entries, the first of a name winning).
    public mutating func enterStage(environment entries: [String]) {
        arguments = []
        environment = [:]
        for entry in entries {
            let (name, value) = EnvironmentList.split(entry)
            if environment[name] == nil { environment[name] = value }
        }
        visible = environment
    }

    /// Applies an instruction that has already been expanded with this scope: ARG declares
    /// build arguments, ENV sets variables. Other instructions change nothing.
    public mutating func apply(_ instruction: Instruction, expander: ShellExpander = ShellExpander()) throws(DockerfileError) {
        switch instruction.body {
        case .arg(let arg):
            for declaration in arg.declarations {
                let value: String?
                if let given = buildArguments[declaration.name] {
                    value = given
                } else if let defaultValue = declaration.defaultValue {
                    value = defaultValue
                } else {
                    value = globals[declaration.name]
                }
                arguments.removeAll { $0.name == declaration.name }
                arguments.append((declaration.name, value))
                if let value { visible[declaration.name] = value }
            }
        case .env(let env):
            for pair in env.pairs {
                environment[pair.key] = pair.value
                visible[pair.key] = pair.value
            }
        default:
            break
        }
    }
}
