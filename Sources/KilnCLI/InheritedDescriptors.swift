import Glibc
import Synchronization

/// The descriptors that kiln's process had open when it started: the ones its caller passed,
/// such as a shell's `3>file`. An output path like `/dev/fd/3` may name only these, never a
/// descriptor that kiln opened itself (its database, a lock, a blob).
public enum InheritedDescriptors {
    /// An array, with the digits read by hand, because a `Set` and `Int32(String)` here were
    /// among the first uses of generic types that Swift looks up at each start (perf record).
    private static let recorded = Mutex<[Int32]?>(nil)

    /// Lists `/proc/self/fd`, then puts `/dev/null` on each of standard input, output and error
    /// that the caller closed (`kiln save IMAGE >&-`). Otherwise the next file kiln opens, such
    /// as its database, would get that number and receive the stream's output. Call it first
    /// thing in `main`, before anything opens a file.
    public static func record() {
        recordOpenDescriptors()
        let closed = (STDIN_FILENO...STDERR_FILENO).filter { !contains($0) }
        guard !closed.isEmpty else { return }
        let null = open("/dev/null", O_RDWR)
        guard null >= 0 else { return }
        for number in closed where number != null {
            dup2(null, number)
        }
        if !closed.contains(null) { close(null) }
    }

    private static func recordOpenDescriptors() {
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        let own = dirfd(directory)
        var numbers: [Int32] = []
        while let entry = readdir(directory) {
            let number = withUnsafeBytes(of: entry.pointee.d_name) { name -> Int32? in
                var value: Int32 = 0
                var digits = 0
                for byte in name {
                    if byte == 0 { break }
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { return nil }
                    value = value * 10 + Int32(byte - UInt8(ascii: "0"))
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            if let number, number != own { numbers.append(number) }
        }
        recorded.withLock { $0 = numbers }
    }

    /// Tells whether `number` was open when kiln started. Without a record (kiln's commands run
    /// in another program's process, as in tests), every descriptor counts as inherited.
    static func contains(_ number: Int32) -> Bool {
        recorded.withLock { $0?.contains(number) ?? true }
    }
}
