/// Signal names and numbers as Docker's `signal.ParseSignal` accepts them on Linux.
enum StopSignal {
    private static let names: Set<String> = {
        var names: Set<String> = [
            "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE",
            "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU",
            "UNUSED", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
        ]
        for offset in 1...15 {
            names.insert("RTMIN+\(offset)")
            names.insert("RTMAX-\(offset)")
        }
        return names
    }()

    /// Returns whether `text` names a signal: a non-zero number, or a name with or without `SIG`
    /// in any letter case.
    static func isValid(_ text: String) -> Bool {
        if let number = Int32(text) { return number != 0 }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        return names.contains(name)
    }
}
