import Glibc
import KilnSystem

/// Resolves paths inside a directory as if it were `/`, and reports the path it arrived at.
///
/// `RootDirectory` opens paths safely but does not say where a link led; COPY needs that path
/// (to check `.dockerignore`, to name the copy, to write through a link at the destination as
/// Docker does). Resolution goes one `O_NOFOLLOW` component at a time through descriptors, so
/// a link is followed only by this code, from the root for an absolute target, and `..` stops
/// at the top.
struct PathResolver {
    let root: FileDescriptor

    /// The resolved path and the status of what it names (the root's own when the path is empty).
    struct Resolved {
        var path: FilePath
        var status: FileStatus
    }

    enum Outcome {
        case found(Resolved)
        /// The last component is missing; `parent` is the resolved path of the directory it
        /// would be in, and `name` the component.
        case missing(parent: FilePath, name: FilePath)
        /// A component before the last is missing or not a directory.
        case unreachable
        /// More than `RootDirectory.maximumSymbolicLinks` links were followed: the links loop.
        case linkLoop
    }

    /// Resolves `path`, following a link at the last component when `followFinal` is set.
    func resolve(_ path: FilePath, followFinal: Bool = true) throws -> Outcome {
        var names: [FilePath] = []
        var directories: [FileDescriptor] = [root]
        var pending = Array(path.components.reversed())
        var links = 0

        while let component = pending.popLast() {
            if component.isDotDot {
                if !names.isEmpty {
                    names.removeLast()
                    directories.removeLast()
                }
                continue
            }
            let parent = directories[directories.count - 1]
            let entry = DirectoryEntry(directory: parent, name: component, path: FilePath.joining(names + [component]))
            guard let status = try entry.status() else {
                return pending.isEmpty ? .missing(parent: FilePath.joining(names), name: component) : .unreachable
            }
            if status.kind == .symbolicLink && (!pending.isEmpty || followFinal) {
                links += 1
                guard links <= RootDirectory.maximumSymbolicLinks else { return .linkLoop }
                let target = try entry.readLink()
                if target.isAbsolute {
                    names = []
                    directories = [root]
                }
                pending.append(contentsOf: target.components.reversed())
                continue
            }
            if pending.isEmpty {
                return .found(Resolved(path: FilePath.joining(names + [component]), status: status))
            }
            guard status.kind == .directory else { return .unreachable }
            directories.append(try entry.openDirectory())
            names.append(component)
        }
        return .found(Resolved(path: FilePath.joining(names), status: try directories[directories.count - 1].stat()))
    }

    /// The resolved path, or nil when it does not exist.
    func existing(_ path: FilePath, followFinal: Bool = true) throws -> Resolved? {
        if case .found(let resolved) = try resolve(path, followFinal: followFinal) { return resolved }
        return nil
    }
}
