import Foundation
import KilnDiagnostics
import KilnLua
import KilnSystem

/// Git facts about a build context, read by running `git` in it. Plugins never run `git`
/// themselves: they read these facts through `kiln.git`, with the `git` capability.
///
/// `git` runs with the repository's own configuration, but with the file-system monitor off and
/// without optional locks, so that reading facts starts no helper and writes nothing. Git's
/// `safe.directory` check still refuses repositories owned by another user; kiln reports no facts
/// for them.
enum GitFactsReader {
    /// Bytes of output read from one `git` command.
    static let maximumOutputBytes = 64 << 10

    static func source(contextDirectory: String, logger: Logger) -> GitFactsSource {
        GitFactsSource { read(contextDirectory: contextDirectory, logger: logger) }
    }

    static func read(contextDirectory: String, logger: Logger) -> GitFacts? {
        guard let commit = git(["rev-parse", "--verify", "HEAD"], in: contextDirectory, logger: logger) else {
            return nil
        }
        let short = git(["rev-parse", "--short", "HEAD"], in: contextDirectory, logger: logger) ?? String(commit.prefix(7))
        let branch = git(["symbolic-ref", "--quiet", "--short", "HEAD"], in: contextDirectory, logger: logger)
        let tag = git(["describe", "--tags", "--exact-match", "HEAD"], in: contextDirectory, logger: logger)
        // Changes to tracked files make the tree dirty; untracked files do not, as with
        // `git describe --dirty`.
        let status = git(["status", "--porcelain", "--untracked-files=no"], in: contextDirectory, logger: logger) ?? ""
        let remote = git(["config", "--get", "remote.origin.url"], in: contextDirectory, logger: logger)
        return GitFacts(
            commit: commit, shortCommit: short, branch: branch, tag: tag, isDirty: !status.isEmpty,
            remote: remote.map(withoutCredentials))
    }

    /// Runs `git ARGUMENTS` in `directory`; returns its trimmed output, or nil when it fails or
    /// prints nothing.
    private static func git(_ arguments: [String], in directory: String, logger: Logger) -> String? {
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["LC_ALL"] = "C"
        let process: ChildProcess
        let output: (readEnd: FileDescriptor, writeEnd: FileDescriptor)
        do {
            let devNull = try FileDescriptor.open("/dev/null", flags: O_RDWR)
            output = try FileDescriptor.pipe()
            process = try ChildProcess.spawn(
                "git", arguments: ["--no-optional-locks", "-c", "core.fsmonitor=false", "-C", directory] + arguments,
                environment: environment,
                descriptors: [0: devNull.rawValue, 1: output.writeEnd.rawValue, 2: devNull.rawValue])
            try output.writeEnd.close()
        } catch {
            logger.debug("running git in \(directory) failed: \(error)")
            return nil
        }
        // Output past the limit is never read: closing the pipe ends a git that goes on writing.
        var data = [UInt8](repeating: 0, count: maximumOutputBytes)
        let count = (try? data.withUnsafeMutableBytes { try output.readEnd.readFully(into: $0) }) ?? 0
        try? output.readEnd.close()
        let status = process.waitBlocking()
        guard status == .exited(0) else {
            logger.debug("git \(arguments.joined(separator: " ")) in \(directory) ended with \(status)")
            return nil
        }
        let text = String(decoding: data.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// Removes a user name and password from a remote URL (`https://user:token@host/repo`).
    static func withoutCredentials(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        let authority = url[scheme.upperBound..<at]
        guard !authority.contains("/") else { return url }
        return String(url[..<scheme.upperBound]) + url[url.index(after: at)...]
    }
}
