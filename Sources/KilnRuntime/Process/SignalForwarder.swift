import Dispatch
import Foundation

/// Forwards the signals a user sends to kiln (Ctrl-C, `kill`) to a container while it runs in
/// the foreground, as `docker run` does. The signals stay ignored for kiln itself meanwhile, and
/// their previous handlers come back when the forwarder stops.
final class SignalForwarder: @unchecked Sendable {
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    private var sources: [DispatchSourceSignal] = []
    private var previous: [(Int32, sighandler_t?)] = []

    /// Starts forwarding; `deliver` receives each signal number.
    init(signals: [Int32] = SignalForwarder.forwarded, deliver: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "kiln.signals")
        for number in signals {
            previous.append((number, signal(number, SIG_IGN)))
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { deliver(number) }
            source.resume()
            sources.append(source)
        }
    }

    func stop() {
        sources.forEach { $0.cancel() }
        sources.removeAll()
        for (number, handler) in previous {
            signal(number, handler)
        }
        previous.removeAll()
    }

    deinit {
        stop()
    }
}
