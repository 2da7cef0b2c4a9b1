import CSystem
import Foundation

/// Finds the container's command in the rootfs before runc starts, so that a missing or
/// non-executable command gives Docker's exit statuses 127 and 126 from data kiln checked
/// itself, not from the wording of runc's error.
enum CommandCheck {
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
        for candidate in candidates {
            let clean = "/" + ContainerPath.components(candidate).joined(separator: "/")
            // A command under a mount is out of sight here; runc reports on it.
            if mounts.contains(where: { clean == $0.destination || ContainerPath.isStrictlyInside(clean, $0.destination) }) {
                return
            }
            let fd = root.openInRoot(clean, flags: kiln_o_path)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFREG, info.st_mode & 0o111 != 0 {
                return
            }
            notExecutable = true
            if command.contains("/") { break }
        }
        if notExecutable, command.contains("/") {
            throw RuntimeError(.commandNotExecutable(command))
        }
        // A symlink in the rootfs may lead into a mount (bin -> usr/bin with /usr bind-mounted),
        // which is out of sight until runc mounts it. With mounts, runc decides and reports.
        // NOTE: runc's own "not found" then gives exit status 1 with runc's message, not 127.
        if !mounts.isEmpty, !notExecutable {
            return
        }
        throw RuntimeError(.commandNotFound(command))
    }
}
