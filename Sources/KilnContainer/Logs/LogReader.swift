import Foundation
import Glibc
import KilnImage

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
        var all: [LogEntry] = []
        for file in files() {
            all += Self.parse(FileManager.default.contents(atPath: file) ?? Data())
        }
        var selected = all.filter { Self.admits($0, selection) }
        if let tail = selection.tail {
            selected = Array(selected.suffix(max(0, tail)))
        }
        return selected
    }

    /// Emits entries written after the stored ones, until `isDone` returns true and the file
    /// has no more data, or the task is cancelled. `startOffset` is the size of the current
    /// file when the stored entries were read.
    public func follow(
        from startOffset: Int64, selection: Selection, isDone: @Sendable () -> Bool, emit: (LogEntry) -> Void
    ) async {
        var offset = startOffset
        var inode = Self.inode(path)
        var pending: [UInt8] = []
        var idleRounds = 0
        while !Task.isCancelled {
            let currentInode = Self.inode(path)
            if currentInode != inode {
                // Rotated: finish the old file (now `.1`), then start the new one from the beginning.
                if let rest = Self.read("\(path).1", from: offset) { pending += rest }
                offset = 0
                inode = currentInode
            }
            if let bytes = Self.read(path, from: offset), !bytes.isEmpty {
                offset += Int64(bytes.count)
                pending += bytes
                idleRounds = 0
            } else {
                idleRounds += 1
            }
            if let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) {
                for entry in Self.parse(Data(pending[...lastNewline])) where Self.admits(entry, selection) {
                    emit(entry)
                }
                pending.removeFirst(lastNewline + 1)
            }
            if idleRounds > 0, idleRounds % 3 == 0, isDone() {
                if let bytes = Self.read(path, from: offset), !bytes.isEmpty { continue }
                return
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
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

    static func parse(_ data: Data) -> [LogEntry] {
        let decoder = JSONDecoder()
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(LogEntry.self, from: Data($0)) }
    }

    static func admits(_ entry: LogEntry, _ selection: Selection) -> Bool {
        guard selection.since != nil || selection.until != nil else { return true }
        guard let instant = RFC3339.parse(entry.time) else { return true }
        let time = Double(instant.seconds) + Double(instant.nanoseconds) / 1_000_000_000
        if let since = selection.since, time < since { return false }
        if let until = selection.until, time > until { return false }
        return true
    }

    static func inode(_ path: String) -> UInt64 {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : 0
    }

    static func read(_ path: String, from offset: Int64) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: UInt64(max(0, offset)))) != nil else { return nil }
        return (try? handle.readToEnd()).map { Array($0) } ?? []
    }
}
