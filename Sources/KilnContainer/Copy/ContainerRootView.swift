import CSystem
import Foundation
import Glibc
import KilnSystem

/// A container's filesystem as `kiln cp` reads and writes it, whether the container runs or not: the
/// overlay root with the container's volumes, bind mounts and generated /etc files mounted at
/// their destinations, as Docker's daemon mounts them for `docker cp`. tmpfs mounts, /proc, /sys
/// and /dev are not there, as in Docker.
///
/// The view lives in a mount namespace that belongs to one thread, and its mounts are slaves of
/// the host's, so nothing mounted for the view reaches the host or the container. The kernel
/// removes every mount of the view when the thread ends, even after a crash.
public struct ContainerRootView {
    /// The container's root, which every path inside the container is resolved in.
    public let root: RootDirectory
    /// The host path of the root in the view's mount namespace.
    let rootPath: String
    /// The destinations of the volumes and bind mounts, cleaned, with whether each is read-only.
    let mounts: [(destination: String, readOnly: Bool)]
    let readOnlyRootfs: Bool

    /// Returns the path inside the container of an open descriptor, or nil when it lies outside
    /// the root. Only valid on the view's thread, where the view's mounts exist.
    func containerPath(of descriptor: FileDescriptor) -> String? {
        guard let host = try? FilePath(bytes: readLinkBytes(AT_FDCWD, FilePath("/proc/self/fd/\(descriptor.rawValue)"))).string
        else { return nil }
        if host == rootPath { return "/" }
        guard host.hasPrefix(rootPath + "/") else { return nil }
        return String(host.dropFirst(rootPath.count))
    }

    /// Throws Docker's error when `path` (absolute, resolved) lies in a read-only mount, or
    /// outside every mount of a container whose root filesystem is read-only.
    func checkWritable(_ path: String, container: String) throws {
        let mount = mounts.filter { path == $0.destination || path.hasPrefix($0.destination == "/" ? "/" : $0.destination + "/") }
            .max { $0.destination.count < $1.destination.count }
        if let mount {
            if mount.readOnly { throw CopyError(.readOnlyVolume(path: path)) }
            return
        }
        if readOnlyRootfs { throw CopyError(.readOnlyRootfs(container: container)) }
    }
}

extension ContainerManager {
    /// Runs `body` with `container`'s filesystem view on a thread of its own (see
    /// `ContainerRootView`) and returns its result. The overlay is mounted for the view when the
    /// container is stopped, and volumes that no start has filled yet are filled first, as a
    /// start would fill them.
    public func withRootView<T>(_ container: Container, _ body: (ContainerRootView) throws -> T) throws -> T {
        try Self.onPrivateMountNamespace {
            let spec = container.specification
            let filesystem = filesystem(container.id)
            try filesystem.mount(chainIDs: spec.chainIDs)
            let root = try RootDirectory(path: FilePath(filesystem.merged))

            var binds: [(source: String, destination: String, readOnly: Bool)] = []
            for mount in spec.mounts {
                switch mount.kind {
                case .bind:
                    binds.append((mount.source, mount.destination, mount.readOnly))
                case .volume:
                    let volume = volumesDirectory + "/" + mount.source
                    try VolumeFiller(volumeDirectory: volume, copiesImageContent: !mount.noCopy)
                        .prepare(rootfs: filesystem.merged, destination: mount.destination)
                    binds.append((volume + "/" + VolumeFiller.dataName.description, mount.destination, mount.readOnly))
                case .tmpfs:
                    continue
                }
            }
            let bundle = bundle(container.id)
            for (destination, source) in [("/etc/hosts", bundle.hosts), ("/etc/resolv.conf", bundle.resolvConf), ("/etc/hostname", bundle.hostname)]
            where access(source, F_OK) == 0 && !binds.contains(where: { Self.cleanContainerPath($0.destination) == destination }) {
                binds.append((source, destination, spec.readOnly))
            }
            // Parents before children, as runc mounts them.
            binds.sort { Self.cleanContainerPath($0.destination).split(separator: "/").count < Self.cleanContainerPath($1.destination).split(separator: "/").count }

            var mounted: [FileDescriptor] = []
            var stubs: [DirectoryEntry] = []
            defer {
                for target in mounted.reversed() {
                    _ = umount2("/proc/self/fd/\(target.rawValue)", Int32(MNT_DETACH))
                }
                // Stubs this view created go again, unless something was copied into them.
                for stub in stubs.reversed() {
                    if let status = try? stub.status(), status.kind == .directory || status.size == 0 {
                        _ = try? stub.remove()
                    }
                }
            }
            for bind in binds {
                let destination = FilePath(Self.cleanContainerPath(bind.destination))
                var sourceStatus = stat()
                guard stat(bind.source, &sourceStatus) == 0 else { continue }
                let isDirectory = sourceStatus.st_mode & S_IFMT == S_IFDIR
                if try root.status(destination) == nil {
                    if isDirectory {
                        try root.makeDirectories(destination)
                    } else {
                        let entry = try root.entry(destination, createParents: 0o755)
                        try entry.createFile().close()
                    }
                    stubs.append(try root.entry(destination))
                }
                let target = try root.open(destination, flags: kiln_o_path)
                guard Glibc.mount(bind.source, "/proc/self/fd/\(target.rawValue)", nil, UInt(MS_BIND | MS_REC), nil) == 0 else {
                    throw ContainerError(.filesystem(operation: "mounting \(bind.source) for the copy at", path: bind.destination, errno: errno))
                }
                // The descriptor opened before the mount names the directory below it, so the
                // destination is opened again to reach the new mount.
                let mountRoot = try root.open(destination, flags: kiln_o_path)
                mounted.append(mountRoot)
                if bind.readOnly {
                    let flags = UInt(MS_REMOUNT | MS_BIND | MS_RDONLY)
                    guard Glibc.mount(nil, "/proc/self/fd/\(mountRoot.rawValue)", nil, flags, nil) == 0 else {
                        throw ContainerError(.filesystem(operation: "making read-only the mount of", path: bind.destination, errno: errno))
                    }
                }
            }

            // The kernel's name for the root, which `containerPath(of:)` compares with, has no links in it.
            let rootPath = (try? FilePath(bytes: readLinkBytes(AT_FDCWD, FilePath("/proc/self/fd/\(root.descriptor.rawValue)"))).description)
                ?? filesystem.merged
            let view = ContainerRootView(
                root: root, rootPath: rootPath,
                mounts: binds.map { (Self.cleanContainerPath($0.destination), $0.readOnly) }, readOnlyRootfs: spec.readOnly)
            return try body(view)
        }
    }

    /// `path` made absolute and cleaned lexically, as Docker cleans mount destinations.
    static func cleanContainerPath(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." {
                _ = parts.popLast()
            } else {
                parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Runs `body` on a new thread that first moves into a mount namespace of its own, and waits
    /// for it. The namespace, with every mount made in it, ends with the thread.
    static func onPrivateMountNamespace<T>(_ body: () throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { work in
            let outcome = ThreadOutcome<T>(work)
            let finished = DispatchSemaphore(value: 0)
            let thread = Thread {
                outcome.run()
                finished.signal()
            }
            thread.stackSize = 8 << 20
            thread.start()
            finished.wait()
            return try outcome.result()
        }
    }
}

/// The work and the result of `onPrivateMountNamespace`'s thread. The thread writes the result
/// before it signals the semaphore that the caller waits on, so no lock is needed.
private final class ThreadOutcome<T>: @unchecked Sendable {
    /// Cleared before the thread signals, because the closure must not outlive the caller's
    /// `withoutActuallyEscaping` while the thread object still retains this outcome.
    private var work: (() throws -> T)?
    private var outcome: Result<T, Error>?

    init(_ work: @escaping () throws -> T) {
        self.work = work
    }

    func run() {
        defer { work = nil }
        guard kiln_unshare_mount_namespace() == 0 else {
            outcome = .failure(ContainerError(.filesystem(operation: "creating a mount namespace for", path: "kiln cp", errno: errno)))
            return
        }
        guard let work else { return }
        outcome = Result { try work() }
    }

    func result() throws -> T {
        guard let outcome else { throw ContainerError(.unsupported("the copy thread ended without a result")) }
        return try outcome.get()
    }
}
