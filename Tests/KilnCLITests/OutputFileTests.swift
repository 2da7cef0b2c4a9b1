import CSystem
import Foundation
import KilnSystem
import Testing

@testable import KilnCLI

/// Output paths of `kiln save -o`, `kiln build -o type=…,dest=` and `kiln push …-archive:` that
/// are not regular files: a FIFO, a device or an open file named through `/proc` is written
/// through and never replaced, and a symlink is followed.
@Suite struct OutputFileTests {
    /// One way to write an archive to `path`, run in a workspace whose store contains the image
    /// `out/app:1`.
    struct Writer: CustomTestStringConvertible, Sendable {
        var name: String
        var arguments: @Sendable (String) -> [String]
        var testDescription: String { name }
    }

    static let writers: [Writer] = [
        Writer(name: "save -o") { ["save", "-o", $0, "out/app:1"] },
        Writer(name: "build type=tar") { ["build", "-q", "-t", "out/app:1", "-o", "type=tar,dest=\($0)", "."] },
        Writer(name: "build type=oci") { ["build", "-q", "-t", "out/app:1", "-o", "type=oci,dest=\($0)", "."] },
        Writer(name: "push docker-archive") { ["push", "out/app:1", "docker-archive:\($0)"] },
        Writer(name: "push oci-archive") { ["push", "out/app:1", "oci-archive:\($0)"] },
    ]

    /// A workspace whose store contains `out/app:1`, built FROM scratch with one file, so that
    /// `type=tar` has a filesystem to write.
    static func workspace() async throws -> BuildWorkspace {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nCOPY file /file\nLABEL output=1\n")
        workspace.write("file", "content\n")
        let built = await workspace.build(["-q", "-t", "out/app:1"])
        try #require(built.status == 0, "\(built.stderr)")
        return workspace
    }

    /// Encodes a device number as glibc's `makedev` does for a major below 4096 and a minor
    /// below 256 (Glibc's macro is not imported into Swift).
    static func device(major: UInt64, minor: UInt64) -> dev_t {
        dev_t((major << 8) | minor)
    }

    static func fileType(_ path: String) -> mode_t? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return status.st_mode & S_IFMT
    }

    /// Checks that `bytes` look like a whole tar archive: 512-byte blocks ending in two zero blocks.
    static func expectTar(_ bytes: [UInt8], _ comment: Comment? = nil) {
        #expect(bytes.count > 1024, comment)
        #expect(bytes.count % 512 == 0, comment)
        #expect(bytes.suffix(1024).allSatisfy { $0 == 0 }, comment)
    }

    @Test(arguments: writers)
    func symlinkKeptAndTargetWritten(_ writer: Writer) async throws {
        let workspace = try await Self.workspace()
        let target = workspace.path + "/target.tar"
        let link = workspace.context + "/link.tar"
        try "old".write(toFile: target, atomically: false, encoding: .utf8)
        try #require(symlink(target, link) == 0)

        let result = await workspace.run(writer.arguments(link))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.fileType(link) == S_IFLNK)
        #expect(Self.fileType(target) == S_IFREG)
        Self.expectTar([UInt8](try Data(contentsOf: URL(fileURLWithPath: target))))
    }

    @Test(arguments: writers)
    func danglingSymlinkCreatesTarget(_ writer: Writer) async throws {
        let workspace = try await Self.workspace()
        let target = workspace.path + "/new.tar"
        let link = workspace.context + "/link.tar"
        try #require(symlink(target, link) == 0)

        let result = await workspace.run(writer.arguments(link))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.fileType(link) == S_IFLNK)
        #expect(Self.fileType(target) == S_IFREG)
    }

    /// `/dev/stdout` is a link to `/proc/self/fd/1`. Here the open file is a pipe of the test's
    /// own, named through `/proc/self/fd` directly, through `/dev/fd`, and through a link of the
    /// workspace's; the archive must come out of the pipe and every link must stay.
    @Test(arguments: writers)
    func pipeNamedThroughProcReceivesArchive(_ writer: Writer) async throws {
        for form in ["/proc/self/fd/", "/dev/fd/", "link to /proc/self/fd/"] {
            let workspace = try await Self.workspace()
            var ends: [Int32] = [0, 0]
            try #require(kiln_pipe_cloexec(&ends) == 0)
            let reader = PipeReader(descriptor: ends[0])
            var path = form + String(ends[1])
            if form.hasPrefix("link") {
                path = workspace.context + "/mystdout"
                try #require(symlink("/proc/self/fd/\(ends[1])", path) == 0)
            }

            let result = await workspace.run(writer.arguments(path))
            close(ends[1])
            let bytes = reader.finish()
            #expect(result.status == 0, "\(form): \(result.stderr)")
            Self.expectTar(bytes, "\(form)")
            if form.hasPrefix("link") { #expect(Self.fileType(path) == S_IFLNK) }
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: workspace.context).filter { $0.hasPrefix(".") } == [],
                "\(form)")
        }
    }

    /// A pipe whose reader has gone (`kiln save -o FIFO` read by `head -c 100`) makes the write
    /// fail with EPIPE. kiln reports the broken pipe with status 1, as Docker's CLI does, instead
    /// of dying of SIGPIPE, which would end this test process too.
    @Test(arguments: writers)
    func closedReaderGivesBrokenPipe(_ writer: Writer) async throws {
        let workspace = try await Self.workspace()
        var ends: [Int32] = [0, 0]
        try #require(kiln_pipe_cloexec(&ends) == 0)
        close(ends[0])
        defer { close(ends[1]) }
        let path = "/proc/self/fd/\(ends[1])"

        let result = await workspace.run(writer.arguments(path))
        #expect(result.status == 1)
        #expect(result.stderr.contains("write \"\(path)\" failed: Broken pipe"), "\(result.stderr)")
    }

    /// A regular file named through `/proc/self/fd` (`kiln save -o /dev/stdout > out.tar`) is
    /// written through its open file, and the file keeps its name and its inode.
    @Test(arguments: writers)
    func regularFileNamedThroughProcIsWrittenInPlace(_ writer: Writer) async throws {
        let workspace = try await Self.workspace()
        let file = workspace.path + "/redirected.tar"
        let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var before = stat()
        try #require(stat(file, &before) == 0)

        let result = await workspace.run(writer.arguments("/proc/self/fd/\(descriptor)"))
        #expect(result.status == 0, "\(result.stderr)")
        var after = stat()
        try #require(stat(file, &after) == 0)
        #expect(after.st_ino == before.st_ino)
        Self.expectTar([UInt8](try Data(contentsOf: URL(fileURLWithPath: file))))
    }

    /// `/proc/<tid>/fd/N` of one of kiln's threads names kiln's own descriptor as
    /// `/proc/self/fd/N` does.
    @Test func threadFolderCountsAsOwn() throws {
        let threadFolder = try #require(realpath("/proc/thread-self", nil))
        defer { free(threadFolder) }
        let thread = try #require(String(cString: threadFolder).split(separator: "/").last)
        #expect(OutputFile.ownDescriptor(named: "/proc/\(thread)/fd/0") == 0)
        #expect(OutputFile.ownDescriptor(named: "/proc/self/fd/0") == 0)
        #expect(OutputFile.ownDescriptor(named: "/proc/1/fd/0") == nil)
    }

    @Test func closedDescriptorThroughProcIsRejected() async throws {
        let workspace = try await Self.workspace()
        let result = await workspace.run(["save", "-o", "/proc/self/fd/2147483647", "out/app:1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("names no open file"), "\(result.stderr)")
    }

    @Test(arguments: writers)
    func symlinkToFifoWrittenThrough(_ writer: Writer) async throws {
        let workspace = try await Self.workspace()
        let fifo = workspace.path + "/pipe"
        let link = workspace.context + "/link.tar"
        try #require(mkfifo(fifo, 0o600) == 0)
        try #require(symlink(fifo, link) == 0)

        let reader = FifoReader(path: fifo)
        let result = await workspace.run(writer.arguments(link))
        let bytes = reader.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.fileType(link) == S_IFLNK)
        #expect(Self.fileType(fifo) == S_IFIFO)
        Self.expectTar(bytes)
    }

    @Test func emptyOutputPathWritesStdout() async throws {
        let workspace = try await Self.workspace()
        let result = await workspace.run(["save", "-o", "", "out/app:1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.utf8.count > 1024)
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.context).sorted() == ["Dockerfile", "file"])
    }

    @Test(arguments: writers)
    func fifoReceivesArchive(_ writer: Writer) async throws {
        let workspace = try await Self.workspace()
        let fifo = workspace.context + "/pipe"
        try #require(mkfifo(fifo, 0o600) == 0)

        let reader = FifoReader(path: fifo)
        let result = await workspace.run(writer.arguments(fifo))
        let bytes = reader.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.fileType(fifo) == S_IFIFO)
        Self.expectTar(bytes)
    }

    @Test(.enabled(if: getuid() == 0, "mknod needs root"), arguments: writers)
    func nullDeviceStaysDevice(_ writer: Writer) async throws {
        let workspace = try await Self.workspace()
        let device = workspace.context + "/null"
        try #require(mknod(device, S_IFCHR | 0o666, Self.device(major: 1, minor: 3)) == 0)

        let result = await workspace.run(writer.arguments(device))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.fileType(device) == S_IFCHR)
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.context).sorted() == ["Dockerfile", "file", "null"])
    }

    @Test(.enabled(if: getuid() == 0, "mknod needs root"), arguments: writers)
    func fullDeviceFailsAndStays(_ writer: Writer) async throws {
        let workspace = try await Self.workspace()
        let device = workspace.context + "/full"
        try #require(mknod(device, S_IFCHR | 0o666, Self.device(major: 1, minor: 7)) == 0)

        let result = await workspace.run(writer.arguments(device))
        #expect(result.status == 1)
        #expect(result.stderr.contains("write \"\(device)\" failed: No space left on device"), "\(result.stderr)")
        #expect(Self.fileType(device) == S_IFCHR)
    }

    @Test func directoryIsRejected() async throws {
        let workspace = try await Self.workspace()
        let result = await workspace.run(["save", "-o", workspace.context, "out/app:1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot write \"\(workspace.context)\": it is a directory"), "\(result.stderr)")
    }

    @Test func missingFolderIsNamed() async throws {
        let workspace = try await Self.workspace()
        let path = workspace.context + "/missing/app.tar"
        let result = await workspace.run(["save", "-o", path, "out/app:1"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("cannot write \"\(path)\": the folder \"\(workspace.context)/missing\" does not exist"),
            "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.context + "/missing"))
    }

    /// A path past 240 characters keeps its first and last 100 in the message, as COPY errors do.
    @Test func longPathShortenedInError() async throws {
        let workspace = try await Self.workspace()
        let name = String(repeating: "n", count: 300) + ".tar"
        let path = workspace.context + "/missing/" + name
        let result = await workspace.run(["save", "-o", path, "out/app:1"])
        #expect(result.status == 1)
        #expect(!result.stderr.contains(name), "\(result.stderr)")
        #expect(result.stderr.contains("nnnn.tar\" (\(path.utf8.count) bytes): the folder"), "\(result.stderr)")
    }

    @Test func symlinkLoopIsRejected() async throws {
        let workspace = try await Self.workspace()
        let link = workspace.context + "/loop.tar"
        try #require(symlink("loop.tar", link) == 0)

        let result = await workspace.run(["save", "-o", link, "out/app:1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("too many levels of symlinks"), "\(result.stderr)")
        #expect(Self.fileType(link) == S_IFLNK)
    }
}

/// Reads a FIFO to its end on its own thread. The reader keeps a write end of its own open
/// until `finish()`, so the read ends even when no other writer ever opens the FIFO and a
/// failed test cannot hang.
final class FifoReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let keeper: Int32
    private var bytes: [UInt8] = []

    init(path: String) {
        let reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        keeper = open(path, O_WRONLY | O_CLOEXEC)
        Thread.detachNewThread { [self] in
            guard reader >= 0 else {
                done.signal()
                return
            }
            _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) & ~O_NONBLOCK)
            bytes = readToEnd(reader)
            close(reader)
            done.signal()
        }
    }

    func finish() -> [UInt8] {
        if keeper >= 0 { close(keeper) }
        done.wait()
        return bytes
    }
}

/// Reads a pipe's read end to its end on its own thread, and closes it.
final class PipeReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var bytes: [UInt8] = []

    init(descriptor: Int32) {
        Thread.detachNewThread { [self] in
            bytes = readToEnd(descriptor)
            close(descriptor)
            done.signal()
        }
    }

    func finish() -> [UInt8] {
        done.wait()
        return bytes
    }
}

/// Reads `descriptor` until its end or an error, and returns the bytes read.
private func readToEnd(_ descriptor: Int32) -> [UInt8] {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(descriptor, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        bytes += buffer[0..<count]
    }
    return bytes
}
