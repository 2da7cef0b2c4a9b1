import KilnContainer
import KilnDiagnostics
import KilnSystem

/// Checks on `kiln run`, `create` and `exec` flags that Docker makes before it creates or
/// starts anything.
extension ContainerSupport {
    /// Rejects `-i` with `-t` when standard input is not a terminal, as Docker does. A
    /// container terminal fed from a pipe would wait forever for input that never arrives.
    static func checkTerminalInput(interactive: Bool, tty: Bool, context: CommandContext) throws {
        guard interactive && tty && !context.stdin.isTerminal else { return }
        throw GeneralError(
            "the input device is not a TTY",
            hint: "drop -t to pipe standard input into the container, or run kiln from a terminal")
    }

    /// Returns the `-u`/`--user` value to use: nil for a missing or empty value, which keeps the
    /// image's user as Docker keeps it. A `USER:GROUP` value with an empty side (`:`, `app:`,
    /// `:0`) is rejected here rather than when the container starts.
    static func checkedUser(_ value: String?, command: String) throws -> String? {
        guard let value, !value.isEmpty else { return nil }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, !parts.contains(where: \.isEmpty) else {
            throw UsageError(
                command: command,
                reason: .invalidValue(flag: "--user", value: value, reason: "expected USER or USER:GROUP, each a name or a number"))
        }
        return value
    }

    /// Rejects an `-e`/`--env` value without a variable name before `=` (`-e =x`, `-e ""`), as
    /// Docker does, so it never reaches runc.
    static func checkEnvironment(_ values: [String], command: String) throws {
        for value in values {
            let name = value.prefix { $0 != "=" }
            guard name.isEmpty else { continue }
            throw UsageError(
                command: command,
                reason: .invalidValue(flag: "--env", value: value, reason: "invalid environment variable: the name is missing"))
        }
    }

    /// Reads the `--env-file` files of `kiln run`, `create` and `exec`, in order. A file that is
    /// missing, a directory or a device, unreadable, larger than 16 MiB or not UTF-8 is a usage
    /// error that names the problem.
    static func environmentFiles(_ files: [String], context: CommandContext, command: String) throws -> [String] {
        var entries: [String] = []
        for file in files {
            let path = context.absolutePath(file)
            let bytes: [UInt8]
            do {
                bytes = try InputFile.read(path, limit: InputFile.maximumEnvironmentFileSize)
            } catch {
                throw UsageError(
                    command: command,
                    reason: .invalidValue(
                        flag: "--env-file", value: file,
                        reason: "\(shortenedForDisplay(path)): \(error.reason(what: "an env file"))"))
            }
            entries += try EnvironmentFile.parse(bytes: bytes, path: file, environment: context.environment)
        }
        return entries
    }
}
