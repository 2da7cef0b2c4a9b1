import Foundation
import Glibc

/// The exit codes of `--rm` containers, kept after their records are deleted so that a
/// `kiln wait` that was waiting can still print the code, as `docker wait` does. Each code is a
/// file `<root>/exits/<container ID>` containing the number in decimal, written before the record
/// is deleted.
struct RemovedContainerExits {
    let directory: String

    /// How long a code is kept. A waiter reads it as soon as the record's deletion wakes it, so
    /// this only bounds how many files pile up. NOTE: a waiter stopped for longer than this
    /// (SIGSTOP, a suspended machine) finds no code and prints the record's last one.
    static let retentionSeconds = 600

    /// How often the directory is listed for expired codes, so that many `kiln run --rm` in a
    /// row do not each list every code of the last `retentionSeconds`.
    static let pruneIntervalSeconds = 60

    /// Writes `exitCode` for container `id`, then deletes codes older than `retentionSeconds`
    /// when the last such pass is `pruneIntervalSeconds` old. Failures are ignored: without the
    /// file, a waiter prints the last code the record had.
    func keep(id: String, exitCode: Int32) {
        mkdir(directory, 0o700)
        let path = directory + "/" + id
        let temporary = directory + "/." + id + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        let bytes = Array(String(exitCode).utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            return
        }
        removeExpired(except: id)
    }

    /// Returns the kept exit code of container `id`, or nil when there is none.
    func exitCode(id: String) -> Int32? {
        guard let text = try? String(contentsOfFile: directory + "/" + id, encoding: .utf8) else { return nil }
        return Int32(text)
    }

    private func removeExpired(except id: String) {
        // The modification time of `.pruned` is the time of the last pass.
        let marker = directory + "/.pruned"
        let now = time(nil)
        var markerStatus = stat()
        if lstat(marker, &markerStatus) == 0, now - markerStatus.st_mtim.tv_sec < Self.pruneIntervalSeconds { return }
        let fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        futimens(fd, nil)
        close(fd)

        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name != id && name != ".pruned" {
            var status = stat()
            let path = directory + "/" + name
            guard lstat(path, &status) == 0, now - status.st_mtim.tv_sec > Self.retentionSeconds else { continue }
            unlink(path)
        }
    }
}
