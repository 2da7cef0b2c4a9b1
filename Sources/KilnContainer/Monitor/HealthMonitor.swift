import CSystem
import Foundation
import Glibc
import KilnRuntime

/// Runs a container's HEALTHCHECK while its monitor lives, with Docker's rules: a check every
/// `interval` (every `startInterval` during the start period), a check that runs longer than
/// `timeout` fails, and `retries` failures in a row make the container unhealthy. A success at
/// any time makes it healthy. Failures in the start period count only once a check has passed.
struct HealthMonitor {
    let manager: ContainerManager
    let containerID: String
    let check: HealthcheckSpecification

    /// Output kept per check, as Docker keeps it.
    static let maximumOutput = 4096
    /// Checks kept in `State.Health.Log`.
    static let keptProbes = 5

    /// Runs the checks on the calling thread, a thread of its own (`watchRunning`), until
    /// `stopRequest` stops them. On a task, the interval ran late while other work kept every
    /// thread of Swift's cooperative pool busy.
    func run(until stopRequest: WatchStop) {
        guard let arguments = check.processArguments else { return }
        let started = ContinuousClock.now
        let startPeriod = Duration.nanoseconds(check.startPeriod)
        while !stopRequest.isStopped {
            let inStartPeriod = ContinuousClock.now - started < startPeriod
            let status = (try? manager.repository.container(id: containerID))??.state.health?.status
            let wait = inStartPeriod && status == "starting" ? check.startInterval : check.interval
            guard stopRequest.sleep(for: .nanoseconds(wait)) else { return }
            // A paused container cannot run the check, and its health stays as it was.
            if (try? manager.repository.container(id: containerID))??.status == .paused { continue }

            let probe = self.probe(arguments)
            if stopRequest.isStopped { return }
            let afterStartPeriod = !(ContinuousClock.now - started < startPeriod)
            _ = try? manager.repository.update(containerID) { container in
                guard container.status == .running else { return }
                var health = container.state.health ?? HealthState()
                health.log.append(probe)
                if health.log.count > Self.keptProbes { health.log.removeFirst(health.log.count - Self.keptProbes) }
                if probe.exitCode == 0 {
                    health.status = "healthy"
                    health.failingStreak = 0
                } else if afterStartPeriod || health.status != "starting" {
                    health.failingStreak += 1
                    if health.failingStreak >= check.retries { health.status = "unhealthy" }
                }
                container.state.health = health
            }
        }
    }

    /// Runs the check process once in the container with `runc exec --detach`, waits for it up
    /// to the timeout and kills it after. Blocks the calling thread.
    func probe(_ arguments: [String]) -> HealthProbe {
        let start = DockerTime.now
        func failed(_ message: String, code: Int32 = -1) -> HealthProbe {
            HealthProbe(start: start, end: DockerTime.now, exitCode: code, output: message)
        }
        guard let runc = manager.runc else { return failed("runc not found") }
        let bundle = manager.bundle(containerID)
        guard let data = FileManager.default.contents(atPath: bundle.config),
            var process = (try? JSONDecoder().decode(RuntimeSpec.self, from: data))?.process
        else { return failed("the container's bundle is unreadable") }
        process.args = arguments
        process.terminal = false
        process.consoleSize = nil

        var fds: [Int32] = [-1, -1]
        guard kiln_pipe_cloexec(&fds) == 0 else { return failed("creating a pipe failed") }
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        let token = UInt32.random(in: 0...UInt32.max)
        let processFile = bundle.directory + "/health-\(token).json"
        let pidFile = bundle.directory + "/health-\(token).pid"
        defer {
            unlink(processFile)
            unlink(processFile + ".log")
            unlink(pidFile)
        }
        do {
            try runc.execDetachedBlocking(
                id: containerID, process: process, processFile: processFile, pidFile: pidFile,
                stdio: [0: devNull, 1: fds[1], 2: fds[1]])
        } catch {
            close(fds[0])
            close(fds[1])
            return failed("running the health check failed: \(error)")
        }
        close(fds[1])
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            close(fds[0])
            return failed("the health check process has no pid file")
        }

        let timeout = Double(check.timeout) / 1_000_000_000
        let (code, output) = Self.wait(pid: pid, output: fds[0], timeout: timeout)
        close(fds[0])
        guard let code else {
            return failed("Health check exceeded timeout (\(Self.seconds(check.timeout)))")
        }
        return HealthProbe(
            start: start, end: DockerTime.now, exitCode: code,
            output: String(decoding: output.prefix(Self.maximumOutput), as: UTF8.self))
    }

    /// Reads the check's output while waiting for it; nil status when it outlived `timeout` and was killed.
    static func wait(pid: pid_t, output: Int32, timeout: Double) -> (Int32?, [UInt8]) {
        let deadline = Date().addingTimeInterval(timeout)
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var outputOpen = true
        while Date() < deadline {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid {
                drain(output, into: &collected, buffer: &buffer)
                return (status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), collected)
            }
            if reaped < 0, errno == ECHILD {
                // Not this monitor's child (no subreaper): wait for the process to disappear.
                if kill(pid, 0) != 0 { return (0, collected) }
            }
            if outputOpen {
                var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
                if poll(&descriptor, 1, 50) > 0 {
                    let count = read(output, &buffer, buffer.count)
                    if count > 0, collected.count < maximumOutput * 2 {
                        collected.append(contentsOf: buffer[0..<count])
                    } else if count == 0 {
                        outputOpen = false
                    }
                }
            } else {
                usleep(50_000)
            }
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        return (nil, collected)
    }

    private static func drain(_ fd: Int32, into collected: inout [UInt8], buffer: inout [UInt8]) {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&descriptor, 1, 0) > 0 {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return }
            if collected.count < maximumOutput * 2 { collected.append(contentsOf: buffer[0..<count]) }
        }
    }

    static func seconds(_ nanoseconds: Int64) -> String {
        let value = Double(nanoseconds) / 1_000_000_000
        return value == value.rounded() ? "\(Int(value))s" : "\(value)s"
    }
}
