import CSystem
import Foundation

/// Forwards the signals a user sends to kiln (Ctrl-C, `kill`) to a container while it runs in
/// the foreground, as `docker run` does, and restores kiln's own handlers afterwards.
///
/// The forwarding happens in a C signal handler that calls kill(2), because an ignored signal
/// never reaches a dispatch source on Linux unless every thread blocks it. A process forwards to
/// one target at a time; a second forwarder replaces the first one's target.
final class SignalForwarder: @unchecked Sendable {
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]
    private var active = true

    /// Starts forwarding to `target`; signals that arrive before `retarget` with a pid of 0 are dropped.
    init(target: pid_t = 0, signals: [Int32] = SignalForwarder.forwarded) {
        _ = kiln_forward_signals(target, signals, Int32(signals.count))
    }

    func retarget(_ target: pid_t) {
        _ = kiln_forward_signals(target, Self.forwarded, Int32(Self.forwarded.count))
    }

    func stop() {
        guard active else { return }
        active = false
        kiln_stop_forwarding_signals()
    }

    deinit {
        stop()
    }
}
