import Glibc
import Synchronization

/// The descriptors that kiln's process had open when it started: the ones its caller passed,
/// such as a shell's `3>file`. An output path like `/dev/fd/3` may name only these, never a
/// descriptor that kiln opened itself (its database, a lock, a blob).
public enum InheritedDescriptors {
    private static let recorded = Mutex<Set<Int32>?>(nil)

    /// Lists `/proc/self/fd`. Call it first thing in `main`, before anything opens a file.
    public static func record() {
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
