import Foundation
import Glibc
import KilnRuntime

/// The process that `kiln exec` runs and its settings.
public struct ExecOptions: Sendable {
    public var arguments: [String]
    /// `-e` entries, `KEY=VALUE` or `KEY` to copy from kiln's environment.
    public var env: [String] = []
    public var user: String?
    public var workingDir: String?
    public var interactive = false
    public var tty = false
    public var detach = false

    public init(arguments: [String]) {
        self.arguments = arguments
    }
}

extension ContainerManager {
    /// Runs another process in a running container and returns its exit status; with `detach`,
    /// returns 0 once it started.
    public func exec(_ target: Container, _ options: ExecOptions, io: AttachedIO) async throws -> Int32 {
        let container = await reconcile(target)
        if container.status == .paused { throw ContainerError(.paused(container.id, operation: "exec")) }
        guard container.status == .running else { throw ContainerError(.notRunning(container.id)) }
        guard !options.arguments.isEmpty else { throw ContainerError(.noCommand) }
        let env = SpecificationBuilder.mergeEnvironment([], options.env, environment: environment)
        // The TERM=xterm that `run -t` adds belongs to the container's own process. As in Docker,
        // an exec gets TERM only from the container's Config.Env, from `-e`, or from its own `-t`.
        let configuresTerm = container.specification.env.contains { $0 == "TERM" || $0.hasPrefix("TERM=") }
        let unset: Set<String> = configuresTerm ? [] : ["TERM"]
        var user: ProcessUser?
        if let name = options.user {
            user = try UserDatabase.load(rootfs: filesystem(container.id).merged).resolve(name)
        }
        if let workingDir = options.workingDir, !workingDir.hasPrefix("/") {
            throw ContainerError(
                .invalidOption(flag: "--workdir", value: workingDir, reason: "the working directory needs to be an absolute path"))
        }

        let bundle = bundle(container.id)
        let runner = try runner
        if options.detach {
            guard let data = FileManager.default.contents(atPath: bundle.config),
                var process = try? JSONDecoder().decode(RuntimeSpec.self, from: data).process
            else { throw ContainerError(.notRunning(container.id)) }
            process.args = options.arguments
            process.terminal = false
            process.env = Self.replacing(ContainerRunner.removing(unset, from: process.env), with: env)
            if let cwd = options.workingDir { process.cwd = try ContainerPath.normalize(cwd, field: "working directory") }
            if let user {
                process.user = try Self.specUser(user)
            }
            let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
            defer { close(devNull) }
            let processFile = bundle.directory + "/exec-\(UInt32.random(in: 0...UInt32.max)).json"
            let pidFile = processFile + ".pid"
            defer {
                unlink(processFile)
                unlink(processFile + ".log")
                unlink(pidFile)
            }
            _ = try await runner.runc.exec(
                id: container.id, process: process, processFile: processFile, detach: true, pidFile: pidFile,
                stdio: [0: devNull, 1: devNull, 2: devNull])
            // In a process that is a child subreaper (a long-lived kiln that ran containers in the
            // foreground), the detached process becomes this process's child when runc exits. An
            // unreaped zombie would keep the container's PID namespace from ever ending, so a
            // thread waits for it. In any other process, waitpid fails at once with ECHILD.
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                Thread.detachNewThread {
                    var status: Int32 = 0
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                }
            }
            return 0
        }

        let runtimeIO: ContainerIO
        switch io {
        case .output(let handler):
            runtimeIO = .stream(tailLines: 0) { stream, chunk in handler(stream == .stderr, chunk) }
        case .inherit(let stdin):
            runtimeIO = .inherit(stdin: stdin && options.interactive)
        }
        let exit = try await runner.exec(
            id: container.id, bundle: bundle, args: options.arguments, env: env, unset: unset, cwd: options.workingDir,
            user: user, terminal: options.tty && !options.detach, io: runtimeIO)
        return exit.exitCode
    }

    /// Converts `user` to the runtime spec's user. RuntimeSpec.User has no public initializer,
    /// so the value is decoded from its JSON form.
    static func specUser(_ user: ProcessUser) throws -> RuntimeSpec.User {
        var object: [String: Any] = ["uid": user.uid, "gid": user.gid]
        if !user.additionalGids.isEmpty { object["additionalGids"] = user.additionalGids }
        return try JSONDecoder().decode(RuntimeSpec.User.self, from: JSONSerialization.data(withJSONObject: object))
    }

    static func replacing(_ base: [String], with overrides: [String]) -> [String] {
        let keys = Set(overrides.map { String($0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]) })
        return base.filter { !keys.contains(String($0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0])) } + overrides
    }
}
