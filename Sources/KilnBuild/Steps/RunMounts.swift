import Foundation
import Glibc
import KilnDockerfile
import KilnImage
import KilnRuntime
import KilnSnapshot
import KilnStore
import KilnSystem

/// The `--mount` options of one RUN step: checked when the step starts, described for the cache
/// key, and turned into runtime mounts when the step runs.
final class RunMounts: @unchecked Sendable {
    let builder: StageBuilder
    let mounts: [RunMount]

    init(builder: StageBuilder, mounts: [RunMount], workdir: String) throws {
        self.builder = builder
        var checked: [RunMount] = []
        for var mount in mounts {
            switch mount.type {
            case .ssh:
                throw BuildError(.unsupported("RUN --mount=type=ssh (kiln cannot forward an SSH agent)"))
            case .secret:
                if (mount.uid ?? 0) != 0 || (mount.gid ?? 0) != 0 {
                    throw BuildError(
                        .unsupported("RUN --mount=type=secret with uid or gid (secret files are owned by root)"))
                }
                mount = try Self.namingSecret(mount)
            case .cache:
                if mount.from != nil {
                    throw BuildError(.unsupported("RUN --mount=type=cache,from= (seeding a cache from a stage)"))
                }
                if mount.source != nil {
                    throw BuildError(.unsupported("RUN --mount=type=cache,source= (a subdirectory of a cache)"))
                }
            case .bind, .tmpfs:
                break
            }
            if let target = mount.target, !target.hasPrefix("/") {
                mount.target = StageBuilder.joinPath(workdir, target)
            }
            checked.append(mount)
        }
        self.mounts = checked
    }

    /// Fills in a secret mount's id and target as BuildKit does. The id is `id`, else `source`
    /// (or `src`), else the last component of `target`. Without `target` and `env`, the target
    /// is `/run/secrets/` followed by the id's last component.
    static func namingSecret(_ mount: RunMount) throws -> RunMount {
        var named = mount
        if named.id == nil { named.id = mount.source ?? mount.target.map { ($0 as NSString).lastPathComponent } }
        guard let id = named.id, !id.isEmpty else {
            throw BuildError(
                .invalidValue("RUN --mount=type=secret needs the secret's id: add id=NAME, source=NAME or target=PATH"))
        }
        if named.target == nil && named.env == nil {
            named.target = "/run/secrets/" + (id as NSString).lastPathComponent
        }
        return named
    }

    /// The fields of the step's cache key: each mount's options, and for bind mounts the
    /// identity of what is mounted (the digests of context files, or the stage's key).
    func keyFields() async throws -> [String] {
        var fields: [String] = []
        for mount in mounts {
            var text = "type=\(mount.type.rawValue),target=\(mount.target ?? ""),source=\(mount.source ?? "")"
            text += ",id=\(mount.id ?? ""),sharing=\(mount.sharing?.rawValue ?? ""),readonly=\(mount.readOnly)"
            text += ",mode=\(mount.mode.map { String($0, radix: 8) } ?? ""),uid=\(mount.uid ?? 0),gid=\(mount.gid ?? 0)"
            text += ",size=\(mount.size ?? 0),env=\(mount.env ?? ""),required=\(mount.required)"
            if mount.type == .bind {
                text += ",content=" + (try await bindIdentity(mount))
            }
            fields.append(text)
        }
        return fields
    }

    private func bindIdentity(_ mount: RunMount) async throws -> String {
        if let from = mount.from {
            return try await builder.sourceState(from).cacheKey.description
        }
        guard let context = builder.engine.context else { return "no-context" }
        let source = mount.source ?? "/"
        guard let resolved = try context.resolve(source) else {
            throw BuildError(.sourceNotFound(source, origin: "build context"))
        }
        let entries = try context.entries(below: resolved)
        let digests = try context.hashes.digests(of: entries, root: context.root)
        return CopyKey.digest(of: entries, digests: digests).description
    }

    /// What the runtime gets for these mounts; `release()` undoes the preparation.
    struct Prepared {
        var requests: [MountRequest] = []
        var files: [GeneratedFile] = []
        var environment: [String] = []
        var cleanups: [() -> Void] = []

        func release() {
            for cleanup in cleanups.reversed() { cleanup() }
        }
    }

    func prepare() async throws -> Prepared {
        var prepared = Prepared()
        do {
            for mount in mounts {
                try await prepare(mount, into: &prepared)
            }
        } catch {
            prepared.release()
            throw error
        }
        return prepared
    }

    private func prepare(_ mount: RunMount, into prepared: inout Prepared) async throws {
        let engine = builder.engine
        switch mount.type {
        case .tmpfs:
            prepared.requests.append(
                .tmpfs(destination: mount.target ?? "/", options: mount.size.map { ["size=\($0)"] } ?? []))
        case .cache:
            let cache = try CacheMount.open(mount, storeRoot: engine.store.layout.root)
            prepared.cleanups.append { cache.release() }
            prepared.requests.append(.bind(source: cache.path, destination: mount.target ?? "/", readOnly: mount.readOnly))
        case .secret:
            guard let id = mount.id, let value = try secretValue(id) else {
                if mount.required { throw BuildError(.secretNotFound(mount.id ?? "")) }
                return
            }
            if let target = mount.target {
                prepared.files.append(GeneratedFile(path: target, contents: value, mode: mount.mode ?? 0o400))
            }
            if let name = mount.env {
                prepared.environment.append("\(name)=\(String(decoding: value, as: UTF8.self))")
            }
        case .bind:
            try await prepareBind(mount, into: &prepared)
        case .ssh:
            throw BuildError(.unsupported("RUN --mount=type=ssh"))
        }
    }

    private func prepareBind(_ mount: RunMount, into prepared: inout Prepared) async throws {
        let engine = builder.engine
        let target = mount.target ?? "/"
        let source = mount.source ?? "/"
        var hostPath: String
        var entries: [ContextEntry]?
        var sourceRoot: RootDirectory

        if let from = mount.from {
            let state = try await builder.sourceState(from)
            let layers = state.layers.map(\.snapshotLayer)
            let lease = builder.lease
            let view = try await blocking {
                let chain = try engine.snapshotter.prepare(layers, lease: lease)
                return try engine.snapshotter.makeView(of: chain, lease: lease)
            }
            prepared.cleanups.append { view.close() }
            sourceRoot = try RootDirectory(path: FilePath(view.path))
            guard let resolved = try PathResolver(root: sourceRoot.descriptor).existing(FilePath(source)) else {
                throw BuildError(.sourceNotFound(source, origin: "stage \(from)"))
            }
            hostPath = view.path + (resolved.path.isEmpty ? "" : "/" + (resolved.path.string ?? ""))
        } else {
            guard let context = engine.context, let resolved = try context.resolve(source) else {
                throw BuildError(.sourceNotFound(source, origin: "build context"))
            }
            sourceRoot = context.root
            hostPath = context.directory + (resolved.path.isEmpty ? "" : "/" + (resolved.path.string ?? ""))
            if !context.ignore.patterns.isEmpty { entries = try context.entries(below: resolved) }
        }

        // A writable mount, or a context directory that .dockerignore filters, gets a copy:
        // writes are thrown away with it, and ignored files are not in it.
        if !mount.readOnly || entries != nil {
            let scratch = try engine.store.makeScratchDirectory(lease: builder.lease)
            prepared.cleanups.append { engine.snapshotter.removeQuietly(scratch) }
            let copy = scratch.path + "/source"
            let sourcePath = hostPath
            let listed = entries
            let copyRoot = sourceRoot
            try await blocking {
                try TreeCopy.copyForMount(from: sourcePath, listed: listed, root: copyRoot, to: copy)
            }
            hostPath = copy
        }
        prepared.requests.append(.bind(source: hostPath, destination: target, readOnly: mount.readOnly))
    }

    /// A secret's bytes from `--secret`; nil when not given.
    private func secretValue(_ id: String) throws -> [UInt8]? {
        guard let secret = builder.options.secrets[id] else { return nil }
        switch secret {
        case .environment(let name):
            return builder.engine.environment[name].map { Array($0.utf8) }
        case .file(let path):
            return try Self.readSecretFile(path, id: id)
        }
    }

    /// The maximum size of a secret file, 500 KiB, which is BuildKit's limit too.
    static let secretSizeLimit = 500 * 1024

    /// Reads the file of secret `id`, failing with an error that names the secret and the file.
    static func readSecretFile(_ path: String, id: String) throws -> [UInt8] {
        do {
            return try FileDescriptor.open(path, flags: O_RDONLY).readAll(limit: secretSizeLimit)
        } catch let error as SystemError where error.errno == EFBIG {
            throw BuildError(.secretTooLarge(id: id, path: path, limit: secretSizeLimit))
        } catch {
            throw BuildError(.invalidValue("secret \"\(id)\": \(BuildEngine.words(error))"))
        }
    }
}

/// A `RUN --mount=type=cache` directory under `cache/mounts/` in the store, kept between builds.
///
/// A step holds a shared lock on the directory itself while it uses it, whatever its
/// `sharing`, and `kiln builder prune` removes only directories it can lock exclusively. The
/// `.lock` file beside the directory carries the exclusive locks that `sharing` requests.
struct CacheMount {
    var path: String
    private var lock: FileDescriptor?
    private var temporary: String?
    /// The directory, open and share-locked while the step uses it.
    private var use: FileDescriptor?

    /// The directory for `mount`'s id (its target when it has none), created with the mount's
    /// mode and owner, and locked as its `sharing` asks: `locked` waits for other steps,
    /// `private` takes a fresh directory when another step holds the shared one.
    static func open(_ mount: RunMount, storeRoot: String) throws -> CacheMount {
        let id = mount.id ?? mount.target ?? "/"
        let base = storeRoot + "/cache/mounts"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let name = Digest.sha256(of: Array(id.utf8)).hex
        let path = base + "/" + name
        let use = try holdDirectory(path, mount: mount)
        let lockFile = try FileDescriptor.open(path + ".lock", flags: O_RDWR | O_CREAT, mode: 0o600)
        // The lock file's time records the last use, for `kiln builder prune --filter until=`.
        try? lockFile.setTimes(access: nil, modification: timespec(tv_sec: Int(Date().timeIntervalSince1970), tv_nsec: 0))
        switch mount.sharing ?? .shared {
        case .shared:
            return CacheMount(path: path, lock: nil, temporary: nil, use: use)
        case .locked:
            while flock(lockFile.rawValue, LOCK_EX) != 0 {
                guard errno == EINTR else { throw SystemError("lock cache directory", path: path, errno: errno) }
            }
            return CacheMount(path: path, lock: lockFile, temporary: nil, use: use)
        case .private:
            if flock(lockFile.rawValue, LOCK_EX | LOCK_NB) == 0 {
                return CacheMount(path: path, lock: lockFile, temporary: nil, use: use)
            }
            try? use.close()
            let temporary = base + "/private-" + UUID().uuidString
            let temporaryUse = try holdDirectory(temporary, mount: mount)
            return CacheMount(path: temporary, lock: nil, temporary: temporary, use: temporaryUse)
        }
    }

    /// Creates the directory at `path` when it is missing and returns it open with a shared
    /// lock. A prune that removed the directory between the two is seen by comparing the open
    /// directory with the path, and the directory is created again.
    private static func holdDirectory(_ path: String, mount: RunMount) throws -> FileDescriptor {
        while true {
            if mkdir(path, mount.mode ?? 0o755) == 0 {
                chown(path, mount.uid ?? 0, mount.gid ?? 0)
                chmod(path, mount.mode ?? 0o755)
            } else if errno != EEXIST {
                throw SystemError("create cache directory", path: path, errno: errno)
            }
            let directory = try FileDescriptor.open(path, flags: O_RDONLY | O_DIRECTORY)
            while flock(directory.rawValue, LOCK_SH) != 0 {
                guard errno == EINTR else { throw SystemError("lock cache directory", path: path, errno: errno) }
            }
            var current = stat()
            let opened = try directory.stat()
            if lstat(path, &current) == 0, current.st_dev == opened.device, current.st_ino == opened.inode {
                return directory
            }
            try? directory.close()
        }
    }

    func release() {
        if let lock {
            flock(lock.rawValue, LOCK_UN)
            try? lock.close()
        }
        if let temporary { try? FileManager.default.removeItem(atPath: temporary) }
        try? use?.close()
    }
}
