import CSystem
import Glibc
import KilnSystem

extension Store {
    /// The `rm` binaries that background removal tries, in order. Its `--one-file-system` flag is
    /// GNU coreutils'.
    static let removalTools = ["/usr/bin/rm", "/bin/rm"]

    /// The word after the owner tag in the name of a trash entry that a background `rm`
    /// removes, for which leftover removal waits `backgroundRemovalGrace`.
    static let backgroundRemovalMarker = "rm"

    /// Returns whether the trash entry `name` was handed to a background `rm`.
    static func isBackgroundRemoval(_ name: String) -> Bool {
        let parts = name.split(separator: "-", maxSplits: 5, omittingEmptySubsequences: false)
        return parts.count == 6 && parts[4] == backgroundRemovalMarker
    }

    /// Removes a container's directories `work/<id>` and `containers/<id>` without waiting for
    /// the file system: renames both into `trash/`, then starts `rm` on them and returns.
    ///
    /// The names are gone when this returns, and the trash entries carry this process's tag and
    /// `backgroundRemovalMarker`. So whatever `rm` leaves (it was killed, it is not GNU rm) is
    /// trash of an exited process once this process ends, and a kiln command that opens the store
    /// `backgroundRemovalGrace` later removes it. When no `rm` starts, this process removes the
    /// entries itself before it returns. Removing the directories of a container that just ran `true` took 6 to 12 ms
    /// (load average about 10, ext4 on a virtio disk), which `kiln run --rm` no longer waits for.
    public func removeContainerDirectoriesInBackground(id: String) throws {
        var trashNames: [String] = []
        for (directory, displayPath) in [(workDirectory, layout.work(id)), (containersDirectory, layout.container(id))] {
            let trashName = "\(ProcessIdentity.current.fileTag)-\(Self.backgroundRemovalMarker)-\(Self.randomID())"
            if kiln_renameat2(directory.rawValue, id, trashDirectory.rawValue, trashName, kiln_rename_noreplace) != 0 {
                if errno == ENOENT { continue }
                throw StoreError.system(
                    SystemError("rename", path: "\(displayPath) to \(layout.trash)/\(trashName)", errno: errno),
                    context: "removing \(displayPath)")
            }
            trashNames.append(trashName)
        }
        guard !trashNames.isEmpty else { return }

        let paths = trashNames.map { "\(layout.trash)/\($0)" }
        if startRemoval(of: paths) { return }
        for name in trashNames {
            try removeTree(name, in: trashDirectory, displayPath: "\(layout.trash)/\(name)")
        }
    }

    /// Starts `rm -rf --one-file-system` on `paths` in a session of its own with its standard
    /// streams on /dev/null, so that neither a terminal's Ctrl-C nor a caller that reads kiln's
    /// output waits for it. It does not wait for `rm`'s exec either (`spawnUnwaited`): under load
    /// that wait took up to 1.7 ms at the end of every `kiln run --rm`. Returns false when no
    /// `rm` could start.
    private func startRemoval(of paths: [String]) -> Bool {
        guard let tool = Self.removalTools.first(where: { access($0, X_OK) == 0 }) else { return false }
        do {
            _ = try ChildProcess.spawnUnwaited(
                tool, arguments: ["-rf", "--one-file-system", "--"] + paths, environment: ["LC_ALL": "C"])
            return true
        } catch {
            logger.debug("could not start \(tool) to remove \(paths.joined(separator: " ")): \(error)")
            return false
        }
    }
}
