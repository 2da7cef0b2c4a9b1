import CSystem
import Foundation

/// Finds the container's command in the rootfs and in the mounts before runc starts, so that a
/// missing or non-executable command gives Docker's exit statuses 127 and 126 from data kiln
/// checked itself, not from the wording of runc's error.
enum CommandCheck {
    /// The result of looking up one candidate path.
    enum Lookup: Equatable {
        case executable
        /// A directory, or a file without an execute bit.
        case notExecutable
        case missing
        /// Out of sight here, such as a path through a symlink in a bind mount, so runc decides.
        case unknown
    }

    static func check(_ spec: RuntimeSpec, mounts: [MountRequest], root: RootfsDirectory) throws {
        guard let command = spec.process.args.first, !command.isEmpty else {
            throw RuntimeError(.invalidPath("", field: "command", reason: "no command specified"))
        }

        let candidates: [String]
        if command.contains("/") {
            candidates = [command.hasPrefix("/") ? command : spec.process.cwd + "/" + command]
        } else {
            let path = spec.process.env.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? ""
            candidates = path.split(separator: ":").filter { $0.hasPrefix("/") }.map { "\($0)/\(command)" }
        }

        var notExecutable = false
        // Whether a path missing from the rootfs may still exist in a mount, because a symlink
        // in the rootfs (bin -> usr/bin with /usr bind-mounted) leads there when runc mounts it.
        var mayBeInMount = false
        search: for candidate in candidates {
            let clean = "/" + ContainerPath.components(candidate).joined(separator: "/")
            let lookup: Lookup
            if let mount = innermostMount(covering: clean, in: mounts) {
                lookup = look(up: clean, in: mount)
            } else {
                lookup = look(up: clean, in: root)
                if lookup == .missing, !mounts.isEmpty { mayBeInMount = true }
            }
            switch lookup {
            case .executable, .unknown:
                return
            case .notExecutable:
                notExecutable = true
                if command.contains("/") { break search }
            case .missing:
                continue
            }
        }
        if notExecutable, command.contains("/") {
            throw RuntimeError(.commandNotExecutable(command))
        }
        // NOTE: runc's own "not found" then gives exit status 1 with runc's message, not 127.
        if mayBeInMount, !notExecutable {
            return
        }
        throw RuntimeError(.commandNotFound(command))
    }

    /// Returns the mount on top at `path`. Of the mounts whose destination is `path` or contains
    /// it, that is the deepest, and of equal depth the last listed, because the spec mounts them
    /// in that order.
    static func innermostMount(covering path: String, in mounts: [MountRequest]) -> MountRequest? {
        var top: MountRequest?
        var topDepth = -1
        for mount in mounts {
            let destination = ContainerPath.components(mount.destination)
            let inside = ContainerPath.components(path).starts(with: destination)
            if inside, destination.count >= topDepth {
                top = mount
                topDepth = destination.count
            }
        }
        return top
    }

    static func look(up path: String, in root: RootfsDirectory) -> Lookup {
        let fd = root.openInRoot(path, flags: kiln_o_path)
        guard fd >= 0 else { return [ENOENT, ENOTDIR, ELOOP].contains(errno) ? .missing : .unknown }
        defer { close(fd) }
        return classify(fd)
    }

    /// Looks `path` up in the host folder or file that `mount` shows at its destination, without
    /// following symlinks or leaving that folder, so no host file outside the mount is read.
    /// A symlink leaves the decision to runc, which resolves it in the container.
    static func look(up path: String, in mount: MountRequest) -> Lookup {
        let destination = "/" + ContainerPath.components(mount.destination).joined(separator: "/")
        switch mount {
        case .tmpfs:
            // A new tmpfs is an empty directory.
            return path == destination ? .notExecutable : .missing
        case .bind(let source, _, _):
            let base = Glibc.open(source, kiln_o_path | O_CLOEXEC)
            guard base >= 0 else { return .unknown }
            defer { close(base) }
            let relative = ContainerPath.components(path).dropFirst(ContainerPath.components(destination).count)
            if relative.isEmpty { return classify(base) }
            let fd = kiln_openat2(
                base, relative.joined(separator: "/"), UInt64(kiln_o_path | O_CLOEXEC), 0,
                kiln_resolve_beneath | kiln_resolve_no_symlinks | kiln_resolve_no_magiclinks)
            guard fd >= 0 else { return errno == ENOENT ? .missing : .unknown }
            defer { close(fd) }
            return classify(fd)
        }
    }

    private static func classify(_ fd: Int32) -> Lookup {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .missing }
        return (info.st_mode & S_IFMT) == S_IFREG && info.st_mode & 0o111 != 0 ? .executable : .notExecutable
    }
}
