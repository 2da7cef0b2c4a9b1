import CSystem
import Glibc

/// A directory that paths are resolved inside, as if it were `/` (chroot semantics).
///
/// Every path given to a root is resolved component by component through file descriptors:
/// `..` at the root stays at the root, and a symbolic link, absolute or relative, is followed
/// from the root, so no path reaches a file outside it whatever links the tree holds. Paths are
/// root-relative whether or not they start with `/`. Layer apply, COPY and runtime file
/// generation all go through this type.
///
/// Resolution uses openat2(2) with `RESOLVE_IN_ROOT` where the kernel has it (Linux 5.6) and a
/// walk of `O_NOFOLLOW` opens otherwise; both give the same results.
public struct RootDirectory: Sendable {
    /// How paths are resolved. `automatic` picks `kernel` when openat2 works.
    public enum Resolution: Sendable {
        case automatic
        /// openat2(2) with `RESOLVE_IN_ROOT`.
        case kernel
        /// One `O_NOFOLLOW` open per component, following links in Swift.
        case walk
    }

    /// An `O_PATH` descriptor of the root directory.
    public let descriptor: FileDescriptor
    /// The root's host path, for messages.
    public let path: FilePath
    let usesKernelResolution: Bool

    /// Symbolic links followed while resolving one path before failing with ELOOP, as the kernel
    /// limits it (`MAXSYMLINKS`).
    public static let maximumSymbolicLinks = 40

    /// Opens `path` on the host as a root.
    public init(path: FilePath, resolution: Resolution = .automatic) throws {
        let value = path.withCString { kiln_openat(AT_FDCWD, $0, kiln_o_path | O_DIRECTORY | O_CLOEXEC, 0) }
        guard value >= 0 else { throw SystemError.current("open root directory", path: path.description) }
        try self.init(descriptor: FileDescriptor(adopting: value), path: path, resolution: resolution)
    }

    /// Uses an open directory descriptor as a root.
    public init(descriptor: FileDescriptor, path: FilePath, resolution: Resolution = .automatic) throws {
        self.descriptor = descriptor
        self.path = path
        switch resolution {
        case .automatic: usesKernelResolution = Self.kernelHasOpenat2
        case .kernel:
            guard Self.kernelHasOpenat2 else {
                throw SystemError("open root directory", path: path.description, errno: ENOSYS, detail: "openat2 is unavailable")
            }
            usesKernelResolution = true
        case .walk: usesKernelResolution = false
        }
    }

    /// Whether openat2 works here: it is missing before Linux 5.6 and some seccomp filters
    /// reject it with EPERM.
    static let kernelHasOpenat2: Bool = {
        let value = kiln_openat2(AT_FDCWD, "/", UInt64(kiln_o_path | O_CLOEXEC), 0, kiln_resolve_in_root)
        guard value >= 0 else { return false }
        Glibc.close(value)
        return true
    }()

    // MARK: Resolution

    /// Opens `path` inside the root, following symbolic links within it, with `O_CLOEXEC` added.
    ///
    /// With `O_CREAT`, the parent is resolved inside the root and the last component is created
    /// with `O_NOFOLLOW`, so creation never follows a link. Without it, a link at the last
    /// component is followed inside the root unless `flags` has `O_NOFOLLOW`.
    public func open(_ path: FilePath, flags: Int32, mode: mode_t = 0) throws -> FileDescriptor {
        try checkPath(path)
        if flags & O_CREAT != 0 {
            let entry = try self.entry(path)
            return try entry.open(flags: flags, mode: mode)
        }
        let follow = flags & O_NOFOLLOW == 0
        if usesKernelResolution {
            return try openInKernel(path, flags: flags, mode: 0)
        }
        let located = try walk(path.components, followFinal: follow, create: nil)
        if flags & kiln_o_path != 0 { return located }
        // Reopen the located file with the requested flags through its descriptor's magic link;
        // only kernels without openat2 come here, and they all have /proc.
        let value = kiln_openat(AT_FDCWD, "/proc/self/fd/\(located.rawValue)", flags | O_CLOEXEC, 0)
        guard value >= 0 else { throw SystemError.current("open", path: path.description) }
        return FileDescriptor(adopting: value, path: path.description)
    }

    /// Opens the directory at `path` as an `O_PATH` descriptor, following links inside the root.
    ///
    /// - Parameter create: when set, missing directories along the path are created with this
    ///   mode (before the umask), as `mkdir -p` does, and links to missing places create them
    ///   inside the root.
    public func openDirectory(_ path: FilePath, create: mode_t? = nil) throws -> FileDescriptor {
        try checkPath(path)
        if usesKernelResolution {
            do {
                return try openInKernel(path, flags: kiln_o_path | O_DIRECTORY, mode: 0)
            } catch let error as SystemError where error.errno == ENOENT && create != nil {
                // Fall through to the walk, which creates what is missing.
            }
        }
        let directory = try walk(path.components, followFinal: true, create: create.map { CreateOptions(mode: $0) })
        guard try directory.stat().kind == .directory else {
            throw SystemError("open directory", path: path.description, errno: ENOTDIR)
        }
        return directory
    }

    /// `mkdir -p` inside the root: creates every missing directory of `path` with `mode`.
    @discardableResult
    public func makeDirectories(_ path: FilePath, mode: mode_t = 0o755) throws -> FileDescriptor {
        try openDirectory(path, create: mode)
    }

    /// The entry that `path` names: its parent resolved inside the root (following links), and
    /// its last component, which operations on the entry never follow.
    ///
    /// - Parameter createParents: when set, missing parent directories are created with this mode.
    public func entry(_ path: FilePath, createParents: mode_t? = nil) throws -> DirectoryEntry {
        try checkPath(path)
        var components = path.components
        guard let name = components.popLast(), !name.isDotDot else {
            throw SystemError("resolve", path: path.description, errno: EINVAL, detail: "the path names no entry")
        }
        let parent = try openDirectory(FilePath.joining(components), create: createParents)
        return DirectoryEntry(directory: parent, name: name, path: path)
    }

    /// The status of the entry at `path` without following a link there, or nil when it is missing.
    public func status(_ path: FilePath) throws -> FileStatus? {
        do {
            return try entry(path).status()
        } catch let error as SystemError where error.errno == ENOENT || error.errno == ENOTDIR {
            return nil
        }
    }

    private func checkPath(_ path: FilePath) throws {
        guard !path.containsNUL else {
            throw SystemError("resolve", path: path.description, errno: EINVAL, detail: "the path contains a NUL byte")
        }
    }

    private func openInKernel(_ path: FilePath, flags: Int32, mode: mode_t) throws -> FileDescriptor {
        let relative = path.isEmpty ? FilePath(".") : path
        let resolve = kiln_resolve_in_root | kiln_resolve_no_magiclinks
        let value = relative.withCString { kiln_openat2(descriptor.rawValue, $0, UInt64(flags | O_CLOEXEC), UInt64(mode), resolve) }
        guard value >= 0 else { throw SystemError.current("open", path: path.description) }
        return FileDescriptor(adopting: value, path: path.description)
    }

    struct CreateOptions {
        var mode: mode_t
    }

    /// Resolves `components` from the root one `O_NOFOLLOW` open at a time and returns an `O_PATH`
    /// descriptor of the result. `..` pops to the previous directory and never above the root.
    func walk(_ components: [FilePath], followFinal: Bool, create: CreateOptions?) throws -> FileDescriptor {
        var stack: [FileDescriptor] = [descriptor]
        var pending = Array(components.reversed())
        var linksFollowed = 0
        let display = FilePath.joining(components).description

        while let component = pending.popLast() {
            if component.isDotDot {
                if stack.count > 1 { stack.removeLast() }
                continue
            }
            let current = stack[stack.count - 1]
            let isFinal = pending.isEmpty
            let next = try openComponent(component, in: current, create: create, display: display)
            let status = try next.stat()

            if status.kind == .symbolicLink && (!isFinal || followFinal) {
                linksFollowed += 1
                guard linksFollowed <= Self.maximumSymbolicLinks else {
                    throw SystemError("resolve", path: display, errno: ELOOP)
                }
                let target = FilePath(bytes: try readLinkBytes(next.rawValue, ""))
                guard !target.isEmpty else { throw SystemError("resolve", path: display, errno: ENOENT) }
                if target.isAbsolute { stack = [descriptor] }
                pending.append(contentsOf: target.components.reversed())
                continue
            }
            if isFinal { return next }
            guard status.kind == .directory else { throw SystemError("resolve", path: display, errno: ENOTDIR) }
            stack.append(next)
        }
        return stack[stack.count - 1]
    }

    private func openComponent(_ component: FilePath, in directory: FileDescriptor, create: CreateOptions?, display: String)
        throws -> FileDescriptor
    {
        for _ in 0..<4 {
            let value = component.withCString { kiln_openat(directory.rawValue, $0, kiln_o_path | O_NOFOLLOW | O_CLOEXEC, 0) }
            if value >= 0 { return FileDescriptor(adopting: value, path: display) }
            guard errno == ENOENT, let create else { throw SystemError.current("resolve", path: display) }
            let made = component.withCString { mkdirat(directory.rawValue, $0, create.mode) }
            // EEXIST means another writer made it first, so open it again.
            guard made == 0 || errno == EEXIST else { throw SystemError.current("create directory", path: display) }
        }
        throw SystemError("resolve", path: display, errno: EAGAIN)
    }
}

/// readlinkat(2) returning bytes, for a link of any length; an empty `name` reads the link that an
/// `O_PATH | O_NOFOLLOW` descriptor refers to.
public func readLinkBytes(_ directory: Int32, _ name: FilePath) throws -> [UInt8] {
    var size = 256
    while true {
        var buffer = [CChar](repeating: 0, count: size)
        let count = name.withCString { cName in
            buffer.withUnsafeMutableBufferPointer { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return readlinkat(directory, cName, base, size)
            }
        }
        guard count >= 0 else { throw SystemError.current("read symbolic link", path: name.description) }
        if count < size { return buffer[0..<count].map { UInt8(bitPattern: $0) } }
        guard size < 1 << 20 else { throw SystemError("read symbolic link", path: name.description, errno: ENAMETOOLONG) }
        size *= 4
    }
}
