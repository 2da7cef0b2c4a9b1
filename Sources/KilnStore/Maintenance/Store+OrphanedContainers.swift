import Foundation
import Glibc
import KilnSystem

/// The runc containers of builds whose process died (`kill -9` during a RUN).
///
/// Such a container keeps running, its `runc run` reparented to PID 1, inside the scratch
/// directories of the dead build.
/// Those directories count as abandoned once the build's lease has expired, and removing them
/// would unmount the overlay under the running process, so the container is deleted first.
extension Store {
    /// Returns the runc container ID of a RUN step whose bundle is the scratch directory `id`, as
    /// `RunStep` names it: `kiln-build-` and the first 16 characters of the ID.
    static func buildContainerID(bundle id: String) -> String {
        "kiln-build-" + String(id.prefix(16))
    }

    /// runc's `--root` for this store.
    var runcStateRoot: String { layout.root + "/runc" }

    /// Kills and deletes the build containers whose bundles are among the scratch directories
    /// `ids`. Call it before removing any of those directories, because a container's overlay
    /// lives in another scratch directory of the same build.
    func removeBuildContainers(inScratchDirectories ids: [String]) {
        for id in ids {
            let containerID = Self.buildContainerID(bundle: id)
            var status = stat()
            guard stat(runcStateRoot + "/" + containerID, &status) == 0 else { continue }
            removeBuildContainer(containerID)
        }
    }

    private func removeBuildContainer(_ containerID: String) {
        // `runc delete --force` kills every process of the container and removes its cgroup and
        // its state.
        if let runc = Self.locateRunc() {
            do {
                let output = try ChildProcess.run(
                    runc, arguments: ["--root", runcStateRoot, "delete", "--force", containerID], timeout: .seconds(30))
                if output.status == .exited(0) {
                    logger.debug("deleted build container \(containerID) of a build that exited")
                    return
                }
                logger.debug(
                    "runc delete --force \(containerID) failed with \(output.status): \(String(decoding: output.standardError, as: UTF8.self))"
                )
            } catch {
                logger.debug("could not run runc to delete build container \(containerID): \(error)")
            }
        }
        killInitProcess(of: containerID)
    }

    /// Kills the container's init process named in runc's `state.json` when it is still the same
    /// process (same start time). Its PID namespace then ends with it.
    private func killInitProcess(of containerID: String) {
        let statePath = runcStateRoot + "/" + containerID + "/state.json"
        guard let data = FileManager.default.contents(atPath: statePath),
            let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let pid = (state["init_process_pid"] as? NSNumber)?.int32Value,
            let start = (state["init_process_start"] as? NSNumber)?.uint64Value,
            pid > 1
        else { return }
        guard ProcessIdentity.startTime(of: pid) == start else { return }
        kill(pid, SIGKILL)
        logger.debug("killed init process \(pid) of build container \(containerID) of a build that exited")
    }

    /// Finds the runc binary as `Runc.locate` does: Debian's /usr/sbin/runc, else the first
    /// `runc` on PATH.
    static func locateRunc() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        let candidates = ["/usr/sbin/runc"] + path.split(separator: ":").map { "\($0)/runc" }
        return candidates.first { access($0, X_OK) == 0 }
    }
}
