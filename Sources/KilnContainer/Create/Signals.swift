import Glibc

/// Signal names and numbers as `--stop-signal`, `kill -s` and `STOPSIGNAL` take them:
/// `SIGTERM`, `TERM`, `term` or `15`.
public enum Signals {
    static let names: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT, "IOT": SIGABRT,
        "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV, "USR2": SIGUSR2,
        "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM, "STKFLT": SIGSTKFLT, "CHLD": SIGCHLD, "CONT": SIGCONT,
        "STOP": SIGSTOP, "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU, "URG": SIGURG, "XCPU": SIGXCPU,
        "XFSZ": SIGXFSZ, "VTALRM": SIGVTALRM, "PROF": SIGPROF, "WINCH": SIGWINCH, "IO": SIGIO, "POLL": SIGIO,
        "PWR": SIGPWR, "SYS": SIGSYS,
    ]

    /// Returns the signal number, or nil for a name or number that Linux does not have.
    public static func number(_ text: String) -> Int32? {
        if let value = Int32(text) {
            return (1...64).contains(value) ? value : nil
        }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let value = names[name] { return value }
        // SIGRTMIN+N and SIGRTMAX-N.
        if name.hasPrefix("RTMIN+"), let offset = Int32(name.dropFirst(6)), (0...30).contains(offset) { return 34 + offset }
        if name.hasPrefix("RTMAX-"), let offset = Int32(name.dropFirst(6)), (0...30).contains(offset) { return 64 - offset }
        return nil
    }
}
