import Foundation
import Testing

@testable import KilnRuntime

@Suite struct RuncTests {
    @Test func parsesVersionOutput() throws {
        let version = try #require(RuncVersion(versionOutput: "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n"))
        #expect(version.major == 1)
        #expect(version.minor == 1)
        #expect(version.patch == 5)
        #expect(version.prerelease == "")
        #expect(version.text == "1.1.5+ds1")
        #expect(RuncVersion(versionOutput: "crun version 1.8") == nil)
    }

    @Test func ordersVersions() throws {
        let ordered = ["1.0.0-rc6", "1.0.0-rc10", "1.0.0", "1.1.0", "1.1.5+ds1", "1.1.12", "1.2.0"].compactMap {
            RuncVersion(parsing: $0)
        }
        #expect(ordered.count == 7)
        #expect(ordered == ordered.sorted())
    }

    @Test func supportedVersions() throws {
        #expect(throws: Never.self) { try RuncVersion(parsing: "1.1.5+ds1")?.checkSupported() }
        let tooOld = #expect(throws: RuntimeError.self) { try RuncVersion(parsing: "1.0.3")?.checkSupported() }
        #expect(tooOld?.kind == .runcTooOld(version: "1.0.3", minimum: "1.1.0", cve: nil))
        let vulnerable = #expect(throws: RuntimeError.self) { try RuncVersion(parsing: "1.0.0-rc6")?.checkSupported() }
        #expect(vulnerable?.kind == .runcTooOld(version: "1.0.0-rc6", minimum: "1.1.0", cve: "CVE-2019-5736"))
    }

    @Test func errorKeepsSubcommandContainerStatusAndStderr() {
        let error = RuntimeError(
            .runcFailed(subcommand: "create", containerID: "kiln-abc", status: 1, stderr: "container with id exists\n"))
        #expect(error.description == "runc create kiln-abc failed with exit status 1: container with id exists")
    }

    @Test func errorMessagesFromJSONLog() {
        let log = """
            {"level":"info","msg":"starting","time":"2026-01-01T00:00:00Z"}
            {"level":"error","msg":"runc run failed: unable to start container process","time":"2026-01-01T00:00:00Z"}
            plain text line

            """
        #expect(
            Runc.errorMessages(Array(log.utf8))
                == "runc run failed: unable to start container process\nplain text line")
    }

    @Test func logReadKeepsLast64KiB() throws {
        let path = NSTemporaryDirectory() + "kiln-runc-log-\(UUID().uuidString.prefix(8))"
        defer { unlink(path) }
        let head = [UInt8](repeating: UInt8(ascii: "a"), count: 69_999) + [UInt8(ascii: "\n")]
        let tail = Array("{\"level\":\"error\",\"msg\":\"last\"}\n".utf8)
        try Data(head + tail).write(to: URL(fileURLWithPath: path))
        let bytes = Runc.readLog(path)
        #expect(bytes.count == 65536)
        #expect(Array(bytes.suffix(tail.count)) == tail)
        #expect(Runc.errorMessages(bytes).hasSuffix("\nlast"))
    }

    @Test func logReadOfMissingFileIsEmpty() {
        #expect(Runc.readLog("/nonexistent/kiln-runc.log").isEmpty)
    }

    @Test func missingRuncSaysHowToInstall() {
        let error = RuntimeError(.runcNotFound)
        #expect(error.description == "runc not found at /usr/sbin/runc or on PATH")
        #expect(error.diagnostic.hint == "install it with `apt-get install runc`")
    }

    @Test func leakErrorNamesVersionAndCVE() {
        let error = RuntimeError(.runcLeaksWorkingDirectory(version: "1.1.5", fileDescriptor: 7))
        #expect(error.description.hasPrefix("runc 1.1.5 is vulnerable to CVE-2024-21626"))
        #expect(error.description.contains("/proc/self/fd/7"))
    }

    @Test func outputTailKeepsLastLinesPerStream() {
        let tail = OutputTail(maximumLines: 3)
        tail.append(Array("one\ntwo\nthr".utf8), from: .stdout)
        tail.append(Array("ee\nfour\n".utf8), from: .stdout)
        tail.append(Array("partial".utf8), from: .stderr)
        #expect(tail.result == ["three", "four", "partial"])
    }

    @Test func outputTailCutsEndlessLines() {
        let tail = OutputTail(maximumLines: 1)
        tail.append([UInt8](repeating: UInt8(ascii: "x"), count: 100_000), from: .stdout)
        #expect(tail.result.first?.utf8.count == 4096)
    }

    @Test func environmentOverridesReplaceKeys() {
        #expect(ContainerRunner.merge(["A=1", "B=2", "PATH=/bin"], ["B=3", "C=4"]) == ["A=1", "PATH=/bin", "B=3", "C=4"])
    }

    @Test func containerPathNormalization() throws {
        #expect(try ContainerPath.normalize("/../../../etc", field: "f") == "/etc")
        #expect(try ContainerPath.normalize("/a/./b//c/../d/", field: "f") == "/a/b/d")
        #expect(try ContainerPath.normalize("/", field: "f") == "/")
        #expect(ContainerPath.isStrictlyInside("/dev/pts", "/dev"))
        #expect(!ContainerPath.isStrictlyInside("/dev", "/dev"))
        #expect(!ContainerPath.isStrictlyInside("/device", "/dev"))
    }
}

@Suite struct ProcessFileTests {
    private func process() throws -> RuntimeSpec.Process {
        let configuration = ContainerConfiguration(rootfs: "/store/work/abc/merged", args: ["true"])
        return try RuntimeSpec(configuration, bundle: BundleLayout(directory: "/store/containers/abc")).process
    }

    /// `kiln exec` writes this file into the container's bundle; a failure names the file.
    @Test func failedProcessFileNamesPath() throws {
        let path = "/nonexistent-kiln-bundle/exec-1.json"
        let error = try #require(throws: RuntimeError.self) { try Runc.writeProcessFile(try process(), to: path) }
        #expect(error.diagnostic.message == "create \(path) failed: No such file or directory")
    }

    @Test func writtenProcessFileIsJSON() throws {
        let path = NSTemporaryDirectory() + "/kiln-process-\(UUID().uuidString).json"
        defer { unlink(path) }
        try Runc.writeProcessFile(try process(), to: path)
        let decoded = try JSONDecoder().decode(RuntimeSpec.Process.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(decoded.args == ["true"])
    }

    @Test func fullDiskErrorHasHint() {
        let error = RuntimeError(.systemCallFailed(operation: "write /store/containers/abc/exec-1.json", errno: ENOSPC))
        #expect(error.diagnostic.message == "write /store/containers/abc/exec-1.json failed: No space left on device")
        #expect(error.diagnostic.hint?.contains("free disk space") == true)
    }
}
