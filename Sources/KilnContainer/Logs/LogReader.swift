import Foundation
import Glibc
import KilnImage
import KilnSystem

/// Reads a container's log files back for `kiln logs`: the rotated files oldest first, then
/// the current one, optionally following it as it grows and rotates.
public struct LogReader: Sendable {
    public let path: String
    public let maximumFiles: Int

    public init(path: String, maximumFiles: Int) {
        self.path = path
        self.maximumFiles = maximumFiles
    }

    /// The filter of entries to show.
    public struct Selection: Sendable {
        /// Unix times; entries outside `since...until` are skipped.
        public var since: Double?
        public var until: Double?
        /// The last N entries only; nil for all.
        public var tail: Int?

        public init(since: Double? = nil, until: Double? = nil, tail: Int? = nil) {
            self.since = since
            self.until = until
            self.tail = tail
        }
    }

    /// Returns every stored entry that `selection` admits, oldest first.
    public func entries(_ selection: Selection) -> [LogEntry] {
        if let tail = selection.tail {
            return lastEntries(tail, selection: selection)
        }
        var selected: [LogEntry] = []
        for file in files() {
            let entries = Self.parse(FileManager.default.contents(atPath: file) ?? Data())
            selected += entries.filter { Self.admits($0, selection) }
        }
        return selected
    }

    /// Emits entries written after the stored ones, until `isDone` returns true and the file
    /// has no more data, or the task is cancelled. `startOffset` is the size of the current
    /// file when the stored entries were read.
    ///
    /// It waits for writes with inotify on the log's directory, and where that is not available
    /// it reads the file every 100 ms. With inotify a line after a quiet spell shows at once, and
    /// wakes for writes are at least 100 ms apart, so a chatty container costs no more reads than
    /// polling. Either way `isDone` is asked about three times a second while no data comes.
    /// `afterEntries` runs after the entries of each read, for a caller that buffers its output.
    public func follow(
        from startOffset: Int64, selection: Selection, isDone: @Sendable () -> Bool, afterEntries: () -> Void = {},
        emit: (LogEntry) -> Void
    ) async {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        guard
            let watch = try? DirectoryWatch(
                directory: directory.isEmpty ? "." : directory, idleInterval: .milliseconds(300),
                minimumInterval: Self.pollInterval)
        else {
            await poll(from: startOffset, selection: selection, isDone: isDone, afterEntries: afterEntries, emit: emit)
            return
        }
        defer { watch.stop() }
        var position = FollowPosition(offset: startOffset, inode: Self.inode(path))
        // Data written before the watch started has no event of its own.
        _ = readNew(&position, selection: selection, afterEntries: afterEntries, emit: emit)
        for await _ in watch.wakes {
            if readNew(&position, selection: selection, afterEntries: afterEntries, emit: emit) { continue }
            if isDone() {
                _ = readNew(&position, selection: selection, afterEntries: afterEntries, emit: emit)
                return
            }
        }
    }

    /// The interval of the polling fallback, and the least time between two inotify wakes for writes.
    static let pollInterval = Duration.milliseconds(100)

    /// `follow` by reading the file every `pollInterval`.
    private func poll(
        from startOffset: Int64, selection: Selection, isDone: @Sendable () -> Bool, afterEntries: () -> Void,
        emit: (LogEntry) -> Void
    ) async {
        var position = FollowPosition(offset: startOffset, inode: Self.inode(path))
        var idleRounds = 0
        while !Task.isCancelled {
            if readNew(&position, selection: selection, afterEntries: afterEntries, emit: emit) {
                idleRounds = 0
            } else {
                idleRounds += 1
            }
            if idleRounds > 0, idleRounds % 3 == 0, isDone() {
                if readNew(&position, selection: selection, afterEntries: afterEntries, emit: emit) { continue }
                return
            }
            try? await Task.sleep(for: Self.pollInterval)
        }
    }

    /// The read position in the current log file, and the bytes of an unfinished line.
    struct FollowPosition {
        var offset: Int64
        var inode: UInt64
        var pending: [UInt8] = []
    }

    /// Reads what was written since `position`, following a rotation, emits the complete lines,
    /// and returns whether there were new bytes.
    private func readNew(
        _ position: inout FollowPosition, selection: Selection, afterEntries: () -> Void, emit: (LogEntry) -> Void
    ) -> Bool {
        var gotBytes = false
        let current = Self.status(path)
        if let start = Self.rotatedFileStart(
            position: position, currentInode: current.inode, currentSize: current.size, rotatedInode: Self.inode("\(path).1"))
        {
            // Rotated: finish `.1`, then start the new file from the beginning.
            if let rest = Self.read("\(path).1", from: start), !rest.isEmpty {
                position.pending += rest
                gotBytes = true
            }
            position.offset = 0
            position.inode = current.inode
        }
        if let bytes = Self.read(path, from: position.offset), !bytes.isEmpty {
            position.offset += Int64(bytes.count)
            position.pending += bytes
            gotBytes = true
        }
        if let lastNewline = position.pending.lastIndex(of: UInt8(ascii: "\n")) {
            for entry in Self.parse(Data(position.pending[...lastNewline])) where Self.admits(entry, selection) {
                emit(entry)
            }
            afterEntries()
            position.pending.removeFirst(lastNewline + 1)
        }
        return gotBytes
    }

    /// Returns the size of the current log file, where following starts.
    public func currentSize() -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    func files() -> [String] {
        var result: [String] = []
        if maximumFiles > 1 {
            for index in stride(from: maximumFiles - 1, through: 1, by: -1) where FileManager.default.fileExists(atPath: "\(path).\(index)") {
                result.append("\(path).\(index)")
            }
        }
        if FileManager.default.fileExists(atPath: path) { result.append(path) }
        return result
    }

    /// Decodes the entries of newline-separated JSON lines, skipping lines that are not entries.
    static func parse(_ data: Data) -> [LogEntry] {
        data.withUnsafeBytes { raw in
            var entries: [LogEntry] = []
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                if end > start, let entry = JSONFileLine.decode(UnsafeBufferPointer(rebasing: bytes[start..<end])) {
                    entries.append(entry)
                }
                start = end + 1
            }
            return entries
        }
    }

    static func admits(_ entry: LogEntry, _ selection: Selection) -> Bool {
        guard selection.since != nil || selection.until != nil else { return true }
        guard let instant = RFC3339.parse(entry.time) else { return true }
        let time = Double(instant.seconds) + Double(instant.nanoseconds) / 1_000_000_000
        if let since = selection.since, time < since { return false }
        if let until = selection.until, time > until { return false }
        return true
    }

    /// Returns where to read `.1` from when the log rotated since `position`, or nil when it did
    /// not. One rotation makes the file being read `.1`, so the rest of it follows the offset.
    /// After two or more, `.1` is a file not read yet, and the current file may even have the
    /// old inode number again (with `max-file=2` two numbers take turns), which only its
    /// smaller size shows. Lines of rotations beyond the first two are lost.
    static func rotatedFileStart(
        position: FollowPosition, currentInode: UInt64, currentSize: Int64, rotatedInode: @autoclosure () -> UInt64
    ) -> Int64? {
        guard currentInode != position.inode || currentSize < position.offset else { return nil }
        return rotatedInode() == position.inode ? position.offset : 0
    }

    /// Returns the inode number and size of the file at `path`, zeros when it is missing.
    static func status(_ path: String) -> (inode: UInt64, size: Int64) {
        var info = stat()
        guard stat(path, &info) == 0 else { return (0, 0) }
        return (UInt64(info.st_ino), Int64(info.st_size))
    }

    static func inode(_ path: String) -> UInt64 {
        status(path).inode
    }

    static func read(_ path: String, from offset: Int64) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: UInt64(max(0, offset)))) != nil else { return nil }
        return (try? handle.readToEnd()).map { Array($0) } ?? []
    }
}
