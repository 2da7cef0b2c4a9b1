import Foundation
import Glibc
import KilnSystem

/// The processes of a container as `docker top` shows them: the column titles of `ps` and one
/// row per process, the last column holding the rest of the line (the command and its arguments).
public struct ProcessTable: Sendable, Equatable {
    public var titles: [String]
    public var processes: [[String]]

    public init(titles: [String], processes: [[String]]) {
        self.titles = titles
        self.processes = processes
    }
}

extension ContainerManager {
    /// Lists the processes in `target`'s cgroup with the host's `ps` (`kiln top`), as Docker does:
    /// `ps` runs with `arguments` (`-ef` when empty) and a `-q` list of the container's process
    /// IDs, or without that list when `ps` rejects the combination. Rows of other processes are
    /// dropped by their PID column.
    public func top(_ target: Container, arguments: [String]) async throws -> ProcessTable {
        let container = await reconcile(target)
        if container.status == .restarting { throw ContainerError(.restarting(container.name)) }
        guard container.status == .running || container.status == .paused else { throw ContainerError(.notRunning(container.name)) }
        var pid = container.state.pid
        if pid <= 0, let state = try? await requireRunc().state(id: container.id) { pid = state.pid }
        guard pid > 0 else { throw ContainerError(.notRunning(container.name)) }

        let psArguments = arguments.isEmpty ? ["-ef"] : arguments
        try Self.checkPSArguments(psArguments)
        let pids = try Self.cgroupProcesses(of: pid)
        let list = "-q" + pids.sorted().map(String.init).joined(separator: ",")
        let output = try await Self.runPS(psArguments, list: list)
        return try Self.parsePS(String(decoding: output.standardOutput, as: UTF8.self), pids: Set(pids))
    }

    /// Runs `ps` with `arguments` and the `-q` `list`, or without the list when `ps` rejects the
    /// combination (`f` cannot be combined with -q). `ps` runs in a session of its own, as under
    /// Docker's daemon, so what `f` alone selects does not depend on kiln's terminal.
    /// Throws `psFailed` with the first line of `ps`'s standard error when both runs fail.
    static func runPS(_ arguments: [String], list: String) async throws -> ChildProcess.Output {
        let combined = try await ChildProcess.run("ps", arguments: arguments + [list], timeout: .seconds(30), newSession: true)
        if combined.status == .exited(0) { return combined }
        let alone = try await ChildProcess.run("ps", arguments: arguments, timeout: .seconds(30), newSession: true)
        if alone.status == .exited(0) { return alone }

        // The run without the list explains a bad option. When it only found no process, the
        // message of the run with the list gives the reason why the list could not be used.
        let reason = firstLine(alone.standardError) ?? firstLine(combined.standardError) ?? "exit status \(alone.status.exitCode)"
        let selectedNothing = firstLine(alone.standardError) == nil && alone.status == .exited(1)
        throw ContainerError(.psFailed(arguments: arguments, reason: reason, selectedNothing: selectedNothing))
    }

    private static func firstLine(_ bytes: [UInt8]) -> String? {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").first { !$0.allSatisfy(\.isWhitespace) }.map(String.init)
    }

    /// Rejects options that name another column `PID` (`-o user=PID`), which would let a row
    /// pass for a process of the container. Docker rejects them too.
    static func checkPSArguments(_ arguments: [String]) throws {
        for word in arguments.joined(separator: " ").split(whereSeparator: { $0 == " " || $0 == "," }) {
            guard let equals = word.firstIndex(of: "=") else { continue }
            let key = word[..<equals].split(separator: "-").last.map(String.init) ?? ""
            let value = word[word.index(after: equals)...]
            if value.hasPrefix("PID"), key != "pid" {
                throw ContainerError(.unsupported("specifying \"\(key)=\(value)\" is not allowed"))
            }
        }
    }

    /// Parses `ps` output into a table of the rows whose PID is in `pids`. A thread row (PID `-`,
    /// from `ps -T` or `m`) follows its process row.
    static func parsePS(_ text: String, pids: Set<Int32>) throws -> ProcessTable {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard let header = lines.first else { throw ContainerError(.unsupported("ps printed nothing")) }
        let titles = asciiFields(header)
        guard let pidIndex = titles.firstIndex(of: "PID") else {
            throw ContainerError(.unsupported("Couldn't find PID field in ps output"))
        }

        var processes: [[String]] = []
        var previousIncluded = false
        for line in lines.dropFirst() {
            let fields = asciiFields(line)
            guard fields.count > pidIndex else { continue }
            let included: Bool
            if fields[pidIndex] == "-" {
                included = previousIncluded
            } else {
                guard let pid = Int32(fields[pidIndex]) else {
                    throw ContainerError(.unsupported("Unexpected pid '\(fields[pidIndex])' in ps output"))
                }
                included = pids.contains(pid)
                previousIncluded = included
            }
            guard included else { continue }
            // The last column takes the rest of the line, spaces included.
            var row = Array(fields.prefix(titles.count - 1))
            row.append(fields.dropFirst(titles.count - 1).joined(separator: " "))
            processes.append(row)
        }
        return ProcessTable(titles: titles, processes: processes)
    }

    /// Splits at ASCII blanks only, so that a command with other Unicode spaces stays one field.
    private static func asciiFields(_ line: Substring) -> [String] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" }).map(String.init)
    }

    /// Returns the process IDs in the cgroup of process `pid` and its child cgroups: the pids
    /// controller's on cgroup v1 (else the freezer's), the unified hierarchy's on cgroup v2.
    static func cgroupProcesses(of pid: Int32, cgroupRoot: String = "/sys/fs/cgroup") throws -> [Int32] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else {
            throw ContainerError(.filesystem(operation: "reading the cgroup of", path: "process \(pid)", errno: errno))
        }
        var paths: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            for controller in parts[1].split(separator: ",") { paths[String(controller)] = String(parts[2]) }
            if parts[1].isEmpty { paths[""] = String(parts[2]) }
        }
        let directory: String
        if access(cgroupRoot + "/cgroup.controllers", F_OK) == 0, let path = paths[""] {
            directory = cgroupRoot + path
        } else if let controller = ["pids", "freezer"].first(where: { paths[$0] != nil }), let path = paths[controller] {
            directory = cgroupRoot + "/" + controller + path
        } else {
            throw ContainerError(.unsupported("the cgroup of process \(pid) has no pids or freezer controller"))
        }

        var result: [Int32] = []
        var pending = [directory]
        while let current = pending.popLast() {
            let procs = (try? String(contentsOfFile: current + "/cgroup.procs", encoding: .utf8)) ?? ""
            result += procs.split(separator: "\n").compactMap { Int32($0) }
            let children = (try? FileManager.default.contentsOfDirectory(atPath: current)) ?? []
            for child in children {
                var status = stat()
                if lstat(current + "/" + child, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
                    pending.append(current + "/" + child)
                }
            }
        }
        guard !result.isEmpty else { throw ContainerError(.notRunning("process \(pid)")) }
        return result
    }
}
