import Foundation
import Glibc
import Testing

/// A store on a full disk and on a read-only file system, each a small tmpfs of the test's own.
@Suite(.serialized, .enabled(if: geteuid() == 0, "mounting a tmpfs needs root"))
struct StoreFileSystemTests {
    /// A tmpfs of `megabytes` mounted at a new directory, unmounted by `remove`.
    final class SmallFileSystem {
        let scratch: TemporaryDirectory
        let mountPoint: String

        init(megabytes: Int) throws {
            scratch = try TemporaryDirectory("kiln-fs")
            mountPoint = scratch.appending("mnt")
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
            try Command.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", mountPoint])
        }

        /// Remounts the file system, retrying for up to 30 seconds while a store of an in-process
        /// command that has returned still has a file open for writing ("mount point is busy").
        func remount(readOnly: Bool) throws {
            let arguments = ["-o", readOnly ? "remount,ro" : "remount,rw", mountPoint]
            for _ in 0..<300 {
                if try Command.status("/bin/mount", arguments).status == 0 { return }
                usleep(100_000)
            }
            try Command.run("/bin/mount", arguments)
        }

        /// Writes zeros to a file until the file system has no space left.
        func fill() {
            let descriptor = open(mountPoint + "/fill", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard descriptor >= 0 else { return }
            let block = [UInt8](repeating: 0, count: 1 << 16)
            while block.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) > 0 {}
            close(descriptor)
        }

        func remove() {
            _ = try? Command.run("/bin/umount", [mountPoint])
            scratch.remove()
        }
    }

    /// Creates a store on `fileSystem` with one imported image, `test/fs:1`.
    private func storeWithImage(on fileSystem: SmallFileSystem) async throws -> KilnInvocation {
        let scratch = fileSystem.scratch
        try scratch.write("tree/etc/os-release", "NAME=fs-test\n")
        let tarball = scratch.appending("rootfs.tar")
        try await Command.run("/bin/tar", ["--numeric-owner", "-C", scratch.appending("tree"), "-cf", tarball, "."])
        let kiln = KilnInvocation(root: fileSystem.mountPoint + "/root", workingDirectory: scratch.path)
        let imported = await kiln("import", tarball, "test/fs:1")
        try #require(imported.status == 0, "import failed: \(imported.stderr)")
        return kiln
    }

    @Test func fullDiskStillFreesSpace() async throws {
        let fileSystem = try SmallFileSystem(megabytes: 48)
        defer { fileSystem.remove() }
        let kiln = try await storeWithImage(on: fileSystem)
        fileSystem.fill()

        let images = await kiln("images")
        #expect(images.status == 0, "\(images.stderr)")
        #expect(images.stdout.contains("test/fs"))
        let removed = await kiln("rmi", "test/fs:1")
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(removed.stdout.contains("Untagged: test/fs:1"))
        let collected = await kiln("store", "gc")
        #expect(collected.status == 0, "\(collected.stderr)")
        let pruned = await kiln("system", "prune", "-f")
        #expect(pruned.status == 0, "\(pruned.stderr)")
        let after = await kiln("images", "-q")
        #expect(after.status == 0, "\(after.stderr)")
        #expect(after.stdout.isEmpty)
    }

    @Test func fullDiskWritesKeepReserve() async throws {
        let fileSystem = try SmallFileSystem(megabytes: 48)
        defer { fileSystem.remove() }
        let kiln = try await storeWithImage(on: fileSystem)
        let archive = fileSystem.scratch.appending("image.tar")
        let saved = await kiln("save", "-o", archive, "test/fs:1")
        try #require(saved.status == 0, "save failed: \(saved.stderr)")
        try fileSystem.scratch.write("context/Dockerfile", "FROM test/fs:1\nLABEL step=full-disk\n")
        try #require(access(kiln.root + "/space-reserve", F_OK) == 0)
        fileSystem.fill()

        let commands = [
            ["import", fileSystem.scratch.appending("rootfs.tar"), "test/fs:2"],
            ["load", "-i", archive],
            ["build", "-q", "-t", "test/fs:3", fileSystem.scratch.appending("context")],
        ]
        for arguments in commands {
            let result = await kiln.run(arguments)
            let command = "kiln " + arguments.joined(separator: " ")
            #expect(result.status != 0, "\(command) succeeded on a full disk")
            #expect(result.stderr.contains("no space left on device for the store at \(kiln.root)"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains("kiln image prune"), "\(command): \(result.stderr)")
            #expect(access(kiln.root + "/space-reserve", F_OK) == 0, "\(command) deleted the space reserve")
        }

        // The reserve is still there for the commands that free space, and for the container
        // commands that add no content.
        var reserve = stat()
        #expect(stat(kiln.root + "/space-reserve", &reserve) == 0)
        let reserveSize = reserve.st_size
        for _ in 0..<3 {
            let listed = await kiln("ps", "-a")
            #expect(listed.status == 0, "kiln ps -a on a full disk: \(listed.stderr)")
            let inspected = await kiln("inspect", "test/fs:1")
            #expect(inspected.status == 0, "kiln inspect on a full disk: \(inspected.stderr)")
        }
        // Showing state leaves the reserve whole for the commands that free space.
        #expect(stat(kiln.root + "/space-reserve", &reserve) == 0)
        #expect(reserve.st_size == reserveSize)

        // A command that may spend the reserve but frees nothing makes it again, so the next
        // write still finds the disk full and the reserve whole.
        let missing = await kiln("rmi", "test/nosuch:1")
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("No such image"), "\(missing.stderr)")
        #expect(stat(kiln.root + "/space-reserve", &reserve) == 0)
        #expect(reserve.st_size == reserveSize)
        let imported = await kiln("import", fileSystem.scratch.appending("rootfs.tar"), "test/fs:4")
        #expect(imported.status != 0, "kiln import succeeded in the space of the reserve")

        let removed = await kiln("rmi", "test/fs:1")
        #expect(removed.status == 0, "\(removed.stderr)")
        let collected = await kiln("store", "gc")
        #expect(collected.status == 0, "\(collected.stderr)")
    }

    @Test func fullDiskErrorNamesCause() async throws {
        let fileSystem = try SmallFileSystem(megabytes: 48)
        defer { fileSystem.remove() }
        let kiln = try await storeWithImage(on: fileSystem)
        // Without the reserve nothing is left for SQLite to open the database for writing.
        unlink(kiln.root + "/space-reserve")
        fileSystem.fill()

        let removed = await kiln("rmi", "test/fs:1")
        #expect(removed.status == 1)
        #expect(removed.stderr.contains("no space left on device"), "\(removed.stderr)")
        #expect(removed.stderr.contains("the store has no space reserve (space-reserve) to delete"), "\(removed.stderr)")
        #expect(removed.stderr.contains("hint: free at least 1 MiB on that file system outside the store"), "\(removed.stderr)")
        #expect(!removed.stderr.contains("error: store database \(kiln.root)/kiln.db: disk I/O error"))
    }

    /// On a disk with under 32 MiB free, the reserve is a quarter of the free space, and the
    /// commands that free space still work once the disk is full.
    @Test(arguments: [8, 20])
    func smallDiskGetsSmallerReserve(_ megabytes: Int) async throws {
        let fileSystem = try SmallFileSystem(megabytes: megabytes)
        defer { fileSystem.remove() }
        let kiln = try await storeWithImage(on: fileSystem)
        var status = stat()
        try #require(stat(kiln.root + "/space-reserve", &status) == 0, "no space reserve on a \(megabytes) MiB disk")
        #expect(status.st_size >= 1 << 20)
        #expect(status.st_size <= Int64(megabytes) << 20 / 4)
        fileSystem.fill()

        let removed = await kiln("rmi", "test/fs:1")
        #expect(removed.status == 0, "\(removed.stderr)")
        let pruned = await kiln("system", "prune", "-f")
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(await kiln("images", "-q").stdout == "")
    }

    /// A reserve made on a small disk grows to the full 8 MiB once the disk has room.
    @Test func smallReserveGrowsWithRoom() async throws {
        let fileSystem = try SmallFileSystem(megabytes: 48)
        defer { fileSystem.remove() }
        let kiln = try await storeWithImage(on: fileSystem)
        let small = open(kiln.root + "/space-reserve", O_WRONLY | O_TRUNC)
        try #require(small >= 0)
        #expect(posix_fallocate(small, 0, 1 << 20) == 0)
        close(small)

        #expect(await kiln("tag", "test/fs:1", "test/fs:2").status == 0)
        var status = stat()
        #expect(stat(kiln.root + "/space-reserve", &status) == 0)
        #expect(status.st_size == 8 << 20)
    }

    @Test func fullDiskDuringCopyNamesStore() async throws {
        let fileSystem = try SmallFileSystem(megabytes: 48)
        defer { fileSystem.remove() }
        let kiln = try await storeWithImage(on: fileSystem)
        let context = fileSystem.scratch.appending("context")
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try "FROM test/fs:1\nCOPY big.bin /big.bin\n".write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)
        // Random bytes, so that neither holes nor compression make them fit.
        let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? random.close() }
        let big = FileManager.default.createFile(atPath: context + "/big.bin", contents: random.readData(ofLength: 64 << 20))
        try #require(big)

        let built = await kiln("build", "--progress=plain", "-t", "test/fs:big", context)
        #expect(built.status == 1)
        #expect(built.stderr.contains("\"/big.bin\" failed: No space left on device"), "\(built.stderr)")
        #expect(built.stderr.contains("the store at \(kiln.root) is full"), "\(built.stderr)")
        #expect(built.stderr.contains("hint: free disk space there"), "\(built.stderr)")
        #expect(!built.stderr.contains("descriptor"), "\(built.stderr)")
    }

    /// A RUN whose files fit but whose layer does not: the layer's write fails, and the error
    /// names the store as the COPY error does, not the blob's temporary file.
    @Test(.enabled(if: BuildHarness.isReady, "needs root, runc and busybox-static"))
    func fullDiskDuringRunLayerNamesStore() async throws {
        let fileSystem = try SmallFileSystem(megabytes: 40)
        defer { fileSystem.remove() }
        let scratch = fileSystem.scratch
        try FileManager.default.createDirectory(atPath: scratch.appending("shell/bin"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: scratch.appending("shell/bin/busybox"))
        for applet in ["sh", "head"] {
            try FileManager.default.createSymbolicLink(atPath: scratch.appending("shell/bin/\(applet)"), withDestinationPath: "busybox")
        }
        let tarball = scratch.appending("shell.tar")
        try await Command.run("/bin/tar", ["--numeric-owner", "-C", scratch.appending("shell"), "-cf", tarball, "."])
        let kiln = KilnInvocation(root: fileSystem.mountPoint + "/root", workingDirectory: scratch.path)
        let imported = await kiln("import", tarball, "test/fs:shell")
        try #require(imported.status == 0, "import failed: \(imported.stderr)")
        // 18 MB of random bytes fit in the step's upper directory, and its layer, as large
        // again, does not fit beside them.
        try scratch.write("context/Dockerfile", "FROM test/fs:shell\nRUN head -c 18000000 /dev/urandom > /fill\n")

        let built = await kiln("build", "--progress=plain", "-t", "test/fs:run", scratch.appending("context"))
        #expect(built.status == 1)
        #expect(
            built.stderr.contains("no space left on device (the file system of the store at \(kiln.root) is full)"),
            "\(built.stderr)")
        #expect(built.stderr.contains("hint: free disk space there (`kiln system prune`"), "\(built.stderr)")
        #expect(!built.stderr.contains("layer diff of"), "\(built.stderr)")
        #expect(!built.stderr.contains(kiln.root + "/ingest"), "\(built.stderr)")
        #expect(!built.stderr.contains("exit status"), "the RUN itself failed: \(built.stderr)")
    }

    @Test func readOnlyStoreAllowsReading() async throws {
        let fileSystem = try SmallFileSystem(megabytes: 48)
        defer { fileSystem.remove() }
        let kiln = try await storeWithImage(on: fileSystem)
        try fileSystem.remount(readOnly: true)
        defer { try? fileSystem.remount(readOnly: false) }

        for arguments in [["images"], ["inspect", "test/fs:1"], ["history", "test/fs:1"], ["store", "verify"]] {
            let result = await kiln.run(arguments)
            #expect(result.status == 0, "kiln \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        let saved = await kiln("save", "-o", "/dev/null", "test/fs:1")
        #expect(saved.status == 0, "\(saved.stderr)")
        let images = await kiln("images")
        #expect(images.stdout.contains("test/fs"))

        let removed = await kiln("rmi", "test/fs:1")
        #expect(removed.status == 1)
        #expect(removed.stderr.contains("the store is on a read-only file system"), "\(removed.stderr)")
    }
}
