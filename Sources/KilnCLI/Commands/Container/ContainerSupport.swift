import Dispatch
import Foundation
import KilnContainer
import KilnDiagnostics
import KilnRuntime
import KilnStore

/// Helpers that the container commands share: the manager, container lookup, and the per-container
/// loop with Docker's reporting (`kiln stop a b` prints each name, reports each failure, and
/// exits 1 if any failed).
enum ContainerSupport {
    static func manager(_ context: CommandContext, access: Store.Access = .readWrite) throws -> ContainerManager {
        let store = try StoreSupport.open(context, access: access)
        return ContainerManager(store: store, environment: context.environment, logger: context.logger)
    }

    /// Runs `body` for each named container, printing the name as typed after each success.
    static func forEach(
        _ names: [String], context: CommandContext, manager: ContainerManager,
        _ body: (Container) async throws -> Void
    ) async -> Int32 {
        var failed = false
        for name in names {
            do {
                let container = try manager.repository.find(name)
                try await body(container)
                context.stdout.line(name)
            } catch let error as KilnError {
                failed = true
                context.stderr.line(error.diagnostic.rendered())
            } catch {
                failed = true
                context.stderr.line("error: \(error)")
            }
        }
        return failed ? ExitStatus.failure : ExitStatus.success
    }

    /// Checks whether the command runs with the real process's standard streams, where terminals
    /// and signal forwarding apply. In-process callers such as tests capture output instead.
    static func usesProcessStreams(_ context: CommandContext) -> Bool {
        context.stdout.fileDescriptor == STDOUT_FILENO && context.stderr.fileDescriptor == STDERR_FILENO
    }

    /// Output of a foreground container to the command's stdout and stderr.
    static func attachedOutput(_ context: CommandContext) -> AttachedIO {
        .output { isError, chunk in
            (isError ? context.stderr : context.stdout).write(bytes: chunk)
        }
    }
}

/// Forwards the signals that the user sends to `kiln run` in the foreground to the container's
/// init process through `runc kill`, as `docker run --sig-proxy` does, while the container runs.
/// Each forwarded signal first marks the container stopped by the user, so that its restart
/// policy does not start it again.
final class SignalProxy: @unchecked Sendable {
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]
    private var sources: [DispatchSourceSignal] = []
    private var previous: [(Int32, sighandler_t?)] = []

    init(containerID: String, manager: ContainerManager, runc: Runc) {
        let queue = DispatchQueue(label: "kiln.run.signals")
        for number in Self.forwarded {
            previous.append((number, signal(number, SIG_IGN)))
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                manager.markManuallyStopped(containerID)
                Task { try? await runc.kill(id: containerID, signal: number) }
            }
            source.resume()
            sources.append(source)
        }
    }

    func stop() {
        sources.forEach { $0.cancel() }
        sources.removeAll()
        for (number, handler) in previous { signal(number, handler) }
        previous.removeAll()
    }
}
