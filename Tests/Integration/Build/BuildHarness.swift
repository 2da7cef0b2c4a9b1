import Foundation
import KilnBuild
import KilnImage
import KilnSnapshot
import KilnStore
import KilnSystem
import Synchronization

/// The shared setup of the build tests: one store per test process with the busybox base image
/// `kiln-test/busybox:1` imported, and helpers to build and look inside results.
///
/// The store is shared so that runc's startup check runs once per process; each test uses its own
/// context and tags, and tests that count cache hits use content no other test has.
enum BuildHarness {
    static var isReady: Bool {
        geteuid() == 0 && BusyboxTree.isAvailable && Host.hasExecutable("runc")
    }

    static let baseImage = "kiln-test/busybox:1"

    private static let prepared = Mutex<String?>(nil)

    /// The store root, with the base image imported on first use.
    static func storeRoot() throws -> String {
        try prepared.withLock { root in
            if let root { return root }
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-build-tests-\(getpid())").path
            try? FileManager.default.removeItem(atPath: path)
            try prepareStore(at: path)
            atexit {
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-build-tests-\(getpid())").path
                _ = try? Command.run("/bin/sh", ["-c", "grep -o ' \(path)[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l"])
                try? FileManager.default.removeItem(atPath: path)
            }
            root = path
            return path
        }
    }

    /// Creates a store at `path` with the base image imported.
    static func prepareStore(at path: String) throws {
        let store = try Store.open(root: path)
        let scratch = try TemporaryDirectory("kiln-busybox")
        defer { scratch.remove() }
        let tar = scratch.appending("busybox.tar")
        try BusyboxTree.makeTar(at: tar, scratch: scratch.path)
        var options = ImageImporter.Options()
        options.tags = [try Reference.normalized(baseImage).withDefaultTag()]
        options.created = 0
        options.source = "busybox.tar"
        let input = try FileDescriptor.open(tar, flags: O_RDONLY)
        _ = try ImageImporter(store: store).importTarball(from: FileDescriptorSource(input), options: options)
    }

    static func kiln(in directory: String) throws -> KilnInvocation {
        KilnInvocation(root: try storeRoot(), workingDirectory: directory)
    }

    /// The config of an image in the shared store.
    static func config(of name: String) throws -> ImageConfig {
        let store = try Store.open(root: try storeRoot())
        let image = try store.image(named: name)
        return try store.readConfig(image.config.digest)
    }

    /// Copies the filesystem of an image in the shared store into `directory`.
    static func exportFilesystem(of name: String, to directory: String) throws {
        let store = try Store.open(root: try storeRoot())
        let image = try store.image(named: name)
        let layers = try store.layers(of: image).map { BuiltLayer(descriptor: $0.descriptor, diffID: $0.diffID) }
        try ImageExport(store: store, snapshotter: Snapshotter(store: store)).copy(of: layers, to: directory)
    }

    /// A unique image name for one test.
    static func uniqueName(_ label: String) -> String {
        "kiln-test/\(label):\(UUID().uuidString.prefix(8).lowercased())"
    }
}

extension BuildHarness {
    /// Imports a one-layer image made from `files` (path to content) into the shared store.
    static func importImage(_ name: String, files: [String: String], environment: [String]? = nil) throws {
        let store = try Store.open(root: try storeRoot())
        let scratch = try TemporaryDirectory("kiln-import")
        defer { scratch.remove() }
        for (path, content) in files { try scratch.write("tree/" + path, content) }
        try FileManager.default.createDirectory(atPath: scratch.appending("tree"), withIntermediateDirectories: true)
        try Command.run("/bin/tar", ["--numeric-owner", "-C", scratch.appending("tree"), "-cf", scratch.appending("image.tar"), "."])
        var options = ImageImporter.Options()
        options.tags = [try Reference.normalized(name).withDefaultTag()]
        options.config.env = environment
        options.created = 0
        let input = try FileDescriptor.open(scratch.appending("image.tar"), flags: O_RDONLY)
        _ = try ImageImporter(store: store).importTarball(from: FileDescriptorSource(input), options: options)
    }
}
