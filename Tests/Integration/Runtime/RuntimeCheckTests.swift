import Foundation
import KilnRuntime
import KilnSystem
import Testing

@Suite(.enabled(if: RuntimeHarness.isReady, "needs root, runc and busybox-static (scripts/setup installs them)"))
struct RuntimeCheckTests {
    /// Debian 12's runc 1.1.5+ds1-1+deb12u1 carries the fix for CVE-2024-21626, so the check passes;
    /// an unpatched runc 1.1.5 would fail it.
    @Test func installedRuncPassesWorkingDirectoryCheck() async throws {
        let stateRoot = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: stateRoot) }
        let runc = Runc(executable: try Runc.locate(environment: [:]), stateRoot: stateRoot)
        let version = try await RuntimeCheck.verify(runc)
        #expect(version.map { $0 >= RuncVersion.minimum } == true)
        // The pass is recorded, so the next process skips the check.
        let records = try FileManager.default.contentsOfDirectory(atPath: stateRoot).filter { $0.hasPrefix("checked-") }
        #expect(records.count == 1)
    }

    /// A kiln killed during the check left its scratch folder; the next check removes it and
    /// keeps that of a process that still lives.
    @Test func checkRemovesLeftoversOfDeadProcess() async throws {
        let stateRoot = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: stateRoot) }
        let ended = try ChildProcess.spawn("/bin/true")
        let deadPID = ended.pid
        _ = ended.waitBlocking()
        let dead = stateRoot + "/check-\(deadPID)-7/rootfs"
        let live = stateRoot + "/check-\(getppid())-8/rootfs"
        for folder in [dead, live] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }

        let runc = Runc(executable: try Runc.locate(environment: [:]), stateRoot: stateRoot)
        _ = try await RuntimeCheck.verify(runc)
        #expect(!FileManager.default.fileExists(atPath: stateRoot + "/check-\(deadPID)-7"))
        #expect(FileManager.default.fileExists(atPath: live))
    }

    @Test func oldRuncIsRejected() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shim = directory + "/runc"
        try Data("#!/bin/sh\necho 'runc version 1.0.0-rc6'\necho 'spec: 1.0.1-dev'\n".utf8)
            .write(to: URL(fileURLWithPath: shim))
        chmod(shim, 0o755)

        let runc = Runc(executable: shim, stateRoot: directory + "/state")
        let error = await #expect(throws: RuntimeError.self) { try await RuntimeCheck.verify(runc) }
        #expect(error?.kind == .runcTooOld(version: "1.0.0-rc6", minimum: "1.1.0", cve: "CVE-2019-5736"))
        #expect(error?.description == "runc 1.0.0-rc6 is older than 1.1.0 and has CVE-2019-5736")
    }

    /// A working directory at /proc/self/fd/N either fails to start or stays inside the container,
    /// so the host's hostname never reaches the rootfs.
    @Test(arguments: [3, 5, 7, 8, 9, 10, 12, 15, 20])
    func workingDirectoryInProcFdStaysInside(descriptor: Int) async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        do {
            let result = try await rootfs.run(["sh", "-c", "cat ../../../../etc/hostname > /leak; true"]) {
                $0.cwd = "/proc/self/fd/\(descriptor)"
            }
            #expect(result.exit.status == .exited(0))
        } catch let error as RuntimeError {
            guard case .runcFailed(let subcommand, _, _, _) = error.kind else { throw error }
            #expect(subcommand == "run")
        }
        let leaked = (try? String(contentsOfFile: rootfs.rootfs + "/leak", encoding: .utf8)) ?? ""
        let hostHostname = (try? String(contentsOfFile: "/etc/hostname", encoding: .utf8)) ?? "\u{0}"
        #expect(leaked.isEmpty || leaked != hostHostname)
    }

    /// A step that replaces /etc with a symlink to a host directory must not turn kiln's clean-up
    /// of its mount points into a deletion in that directory.
    @Test func cleanupDoesNotFollowReplacedEtc() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let victim = rootfs.directory + "/victim"
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        for name in ["hosts", "resolv.conf", "hostname"] {
            try Data("victim \(name)\n".utf8).write(to: URL(fileURLWithPath: victim + "/" + name))
        }

        let result = try await rootfs.run(["sh", "-c", "mv /etc /etc.old && ln -s \(victim) /etc"])
        #expect(result.exit.status == .exited(0))
        for name in ["hosts", "resolv.conf", "hostname"] {
            #expect(try String(contentsOfFile: victim + "/" + name, encoding: .utf8) == "victim \(name)\n")
        }
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: rootfs.rootfs + "/etc")
        #expect(link == victim)
    }

    /// A container sees runc's binary only through its own /proc, and cannot change it.
    @Test func runcBinaryUnchangedByContainer() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let runc = try Runc.locate(environment: [:])
        let before = try Data(contentsOf: URL(fileURLWithPath: runc))
        let result = try await rootfs.run(["sh", "-c", "ls -l /proc/*/exe; echo x >> /proc/self/exe; echo x >> /proc/1/exe"])
        #expect(result.exit.status != .exited(0))
        #expect(try Data(contentsOf: URL(fileURLWithPath: runc)) == before)
    }

    private func temporaryDirectory() throws -> String {
        var template = Array("/tmp/kiln-runtime-check-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        return String(cString: made)
    }
}
