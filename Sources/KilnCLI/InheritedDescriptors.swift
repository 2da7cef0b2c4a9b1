import Glibc
import Synchronization

/// The descriptors that kiln's process had open when it started: the ones its caller passed,
/// such as a shell's `3>file`. An output path like `/dev/fd/3` may name only these, never a
/// descriptor that kiln opened itself (its database, a lock, a blob).
public enum InheritedDescriptors {
    private static let recorded = Mutex<Set<Int32>?>(nil)

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
        var numbers: Set<Int32> = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let number = Int32(name), number != own { numbers.insert(number) }
        }
        recorded.withLock { $0 = numbers }
    }

    /// Tells whether `number` was open when kiln started. Without a record (kiln's commands run
    /// in another program's process, as in tests), every descriptor counts as inherited.
    static func contains(_ number: Int32) -> Bool {
        recorded.withLock { $0?.contains(number) ?? true }
    }
}
