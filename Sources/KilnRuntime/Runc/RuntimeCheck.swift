import Foundation
import KilnDiagnostics
import Synchronization

/// The startup checks of a runc binary: its version, and whether it lets a container start with
/// its working directory outside its root (CVE-2024-21626, fixed in runc 1.1.12 and in Debian's
/// 1.1.5+ds1-1+deb12u1).
///
/// The leak check starts containers with `cwd` set to /proc/self/fd/3 through /proc/self/fd/20,
/// where a vulnerable runc leaves a descriptor of a host directory open. Each runs the host's
/// /bin/sh (bind-mounted read-only from /usr) to walk up with `cd -P ..` and look for a marker
/// file that exists only in the container's root. A container that cannot start, or that finds
/// the marker, is safe; one that does not find it ran outside its root.
///
/// A passed check is recorded under runc's state root by the binary's path, size, inode and
/// modification time, so it costs about 0.5 s once per runc binary, not per container.
public enum RuntimeCheck {
    /// The descriptors that the check tries: runc 1.1.x leaked its cgroup descriptor at 7 or 8.
    static let descriptors: ClosedRange<Int32> = 3...20

    /// The checks of this process by binary identity; concurrent callers wait for the same one.
    private static let checks = Mutex<[String: Task<RuncVersion?, Error>]>([:])

    /// Checks `runc` unless this process or an earlier one already did; returns its version when
    /// this call ran the check.
    @discardableResult
    public static func verify(_ runc: Runc) async throws -> RuncVersion? {
        let binary = try binaryIdentity(runc.executable)
        // The usual case, an earlier process's record, costs one access(2). The task and the
        // table below cost about 0.3 ms of a `kiln run` in Swift's first-use type lookups.
        if access(recordPath(runc, binary: binary), F_OK) == 0 { return nil }
        let identity = binary + "-" + runc.stateRoot.replacingOccurrences(of: "/", with: "_")
        let task = checks.withLock { running in
            if let existing = running[identity] { return existing }
            let task = Task { try await verifyOnce(runc, identity: identity) }
            running[identity] = task
            return task
        }
        do {
            return try await task.value
        } catch {
            // A failed check is not remembered, so a fixed runc passes on the next call.
            checks.withLock { _ = $0.removeValue(forKey: identity) }
            throw error
        }
    }

    /// Returns the path of the file that records a passed check of the binary `binary` identifies.
    private static func recordPath(_ runc: Runc, binary: String) -> String {
        runc.stateRoot + "/checked-" + binary
    }

    private static func verifyOnce(_ runc: Runc, identity: String) async throws -> RuncVersion? {
        let record = recordPath(runc, binary: try binaryIdentity(runc.executable))
        if FileManager.default.fileExists(atPath: record) {
            return nil
        }

        let version = try await self.version(runc)
        try version.checkSupported()
        try await checkWorkingDirectoryLeak(runc, version: version)

        try? FileManager.default.createDirectory(atPath: runc.stateRoot, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: record, contents: Data("runc \(version.text): no leak\n".utf8))
        runc.logger.debug("runc checked", metadata: ["version": version.text])
        return version
    }

    /// Removes what the check of a kiln process that was killed left in runc's state folder: its
    /// runc containers (`kiln-check-PID-…`) and its scratch folder (`check-PID-…`). The check runs
    /// again until it completes once, so the next check finds them.
    static func removeChecksOfDeadProcesses(_ runc: Runc) async {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: runc.stateRoot) else { return }
        for prefix in ["kiln-check-", "check-"] {
            for name in names where name.hasPrefix(prefix) {
                guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid != getpid(),
                    kill(pid, 0) != 0, errno == ESRCH
                else { continue }
                if prefix == "kiln-check-" {
                    try? await runc.delete(id: name, force: true)
                } else {
                    try? FileManager.default.removeItem(atPath: runc.stateRoot + "/" + name)
                }
            }
        }
    }

    public static func version(_ runc: Runc) async throws -> RuncVersion {
        let output = String(decoding: try await runc.command("--version", [], containerID: nil), as: UTF8.self)
        guard let version = RuncVersion(versionOutput: output) else {
            throw RuntimeError(
                .runcFailed(subcommand: "--version", containerID: nil, status: 0,
                            stderr: "unrecognised version output: \(output.prefix(200))"))
        }
        return version
    }

    /// Runs the working-directory leak check; throws `runcLeaksWorkingDirectory` when it escapes.
    public static func checkWorkingDirectoryLeak(_ runc: Runc, version: RuncVersion) async throws {
        await removeChecksOfDeadProcesses(runc)
        let token = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let scratch = runc.stateRoot + "/check-" + token
        let rootfs = scratch + "/rootfs"
        try FileManager.default.createDirectory(atPath: rootfs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = FileManager.default.createFile(atPath: rootfs + "/.kiln-cwd-check", contents: Data())

        var mounts: [MountRequest] = []
        for top in ["usr", "bin", "sbin", "lib", "lib64"] {
            let host = "/" + top
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: host) {
                try FileManager.default.createSymbolicLink(atPath: rootfs + host, withDestinationPath: target)
            } else if FileManager.default.fileExists(atPath: host) {
                mounts.append(.bind(source: host, destination: host, readOnly: true))
            }
        }

        let runner = ContainerRunner(runc: runc, checksRuntime: false)
        let control = try await runner.run(
            ContainerConfiguration(
                rootfs: rootfs, args: ["/bin/sh", "-c", "test -e /.kiln-cwd-check"], mounts: mounts, network: .none),
            id: "kiln-check-\(token)-control", bundle: BundleLayout(directory: scratch + "/bundle-control"),
            io: .stream(tailLines: 5) { _, _ in })
        guard control.status == .exited(0) else {
            throw RuntimeError(
                .runcFailed(
                    subcommand: "run", containerID: "kiln-check-\(token)-control", status: control.status.exitCode,
                    stderr: "the CVE-2024-21626 check container failed: " + control.outputTail.joined(separator: "\n")))
        }
        for fd in descriptors {
            let configuration = ContainerConfiguration(
                rootfs: rootfs,
                args: ["/bin/sh", "-c", "cd -P ../../../../../../../../../../.. && test -e .kiln-cwd-check"],
                cwd: "/proc/self/fd/\(fd)", mounts: mounts, network: .none)
            let id = "kiln-check-\(token)-\(fd)"
            let exit: ContainerExit
            do {
                exit = try await runner.run(
                    configuration, id: id, bundle: BundleLayout(directory: scratch + "/bundle-\(fd)"),
                    io: .stream(tailLines: 0) { _, _ in })
            } catch let error as RuntimeError {
                guard case .runcFailed = error.kind else { throw error }
                // runc refused to enter the directory: nothing leaked through this descriptor.
                continue
            }
            if exit.status != .exited(0) {
                throw RuntimeError(.runcLeaksWorkingDirectory(version: version.text, fileDescriptor: fd))
            }
        }
    }

    private static func binaryIdentity(_ path: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw RuntimeError(.runcNotFound)
        }
        return "\(info.st_dev)-\(info.st_ino)-\(info.st_size)-\(info.st_mtim.tv_sec)"
    }
}
