import Foundation
import KilnImage
import KilnStore

/// One conformance case from `Fixtures/cases`, copied into a fresh build context.
struct CaseFixture {
    let name: String
    let context: TemporaryDirectory

    static let casesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/cases").path

    /// Copies the case and runs its `make-context.sh` unless `makeContext` is false.
    init(_ name: String, makeContext: Bool = true) throws {
        self.name = name
        context = try TemporaryDirectory("kiln-case")
        try Command.run("/bin/sh", ["-c", "cp -a \"$0\"/. \"$1\"/", Self.casesDirectory + "/" + name, context.path])
        if makeContext, FileManager.default.fileExists(atPath: context.appending("make-context.sh")) {
            try Command.run("/bin/sh", ["make-context.sh"], directory: context.path)
        }
    }

    func remove() { context.remove() }

    /// Builds the case with `arguments` (for example `-f Dockerfile.x`) and returns the result
    /// and the image name it was tagged with.
    func build(_ arguments: String...) async throws -> (result: KilnResult, image: String) {
        let image = BuildHarness.uniqueName(String(name.prefix(2)))
        let kiln = try BuildHarness.kiln(in: context.path)
        let result = await kiln.run(["build", "--progress=plain", "-t", image] + arguments + ["."])
        return (result, image)
    }

    /// The image's filesystem, exported into a directory inside the context folder.
    func filesystem(of image: String) throws -> String {
        let directory = context.appending("exported-" + UUID().uuidString.prefix(6))
        try BuildHarness.exportFilesystem(of: image, to: directory)
        return directory
    }
}

/// Reading files of exported filesystems and layers.
enum Inspect {
    static func text(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }

    static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    static func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }

    static func linkTarget(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path)
    }

    /// Permission bits, owner and group of an entry, without following a link.
    static func mode(_ path: String) -> (permissions: UInt32, uid: UInt32, gid: UInt32)? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return (UInt32(status.st_mode & 0o7777), status.st_uid, status.st_gid)
    }

    static func modificationTime(_ path: String) -> Int? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return status.st_mtim.tv_sec
    }

    /// The blob files of an image's layers, base layer first.
    static func layerFiles(of image: String) throws -> [String] {
        let store = try Store.open(root: try BuildHarness.storeRoot())
        let record = try store.image(named: image)
        return try store.layers(of: record).map { store.layout.blob($0.digest) }
    }

    /// `tar -tv` of a layer: `TYPE MODE NAME` lines in archive order, such as `f 0644 a/b`.
    static func layerListing(_ blob: String) throws -> [String] {
        let script = """
            import sys, tarfile
            with tarfile.open(sys.argv[1]) as t:
                for m in t.getmembers():
                    kind = 'd' if m.isdir() else 'l' if m.issym() else 'h' if m.islnk() else 'f' if m.isfile() else 'o'
                    print(kind, format(m.mode, '04o'), m.name)
            """
        return try Command.run("python3", ["-c", script, blob]).split(separator: "\n").map(String.init)
    }
}
