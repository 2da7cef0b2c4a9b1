import Glibc

extension LogReader {
    /// Returns the last `count` entries that `selection` admits, oldest first. The files are read
    /// from their ends, newest file first, and older files only while entries are missing, so
    /// the cost follows `count` rather than the size of the log.
    func lastEntries(_ count: Int, selection: Selection) -> [LogEntry] {
        guard count > 0 else { return [] }
        var newestFirst: [LogEntry] = []
        for file in files().reversed() {
            Self.visitBackward(file) { entry in
                if Self.admits(entry, selection) { newestFirst.append(entry) }
                return newestFirst.count < count
            }
            if newestFirst.count >= count { break }
        }
        return newestFirst.reversed()
    }

    /// The bytes read at a time from the end of a file.
    static let backwardBlockSize = 64 * 1024

    /// Calls `visit` with the entries of the file at `path`, newest first, until it returns false.
    /// Lines that are not entries, such as a line still being written, are skipped, as `parse`
    /// skips them.
    static func visitBackward(_ path: String, _ visit: (LogEntry) -> Bool) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return }

        var blockEnd = Int64(info.st_size)
        // The bytes after `blockEnd` that have not been split into lines yet, because the line
        // they start may begin in an earlier block. They end at the end of the file or at a
        // line that was already visited.
        var carry: [UInt8] = []
        while blockEnd > 0 {
            let blockStart = max(0, blockEnd - Int64(backwardBlockSize))
            var data = [UInt8](repeating: 0, count: Int(blockEnd - blockStart))
            guard readFully(descriptor, into: &data, at: blockStart) else { return }
            data += carry
            blockEnd = blockStart

            // Before the first newline, the line may go on in the block before this one.
            var linesStart = 0
            if blockStart > 0 {
                guard let firstNewline = data.firstIndex(of: UInt8(ascii: "\n")) else {
                    carry = data
                    continue
                }
                linesStart = firstNewline + 1
                carry = Array(data[..<linesStart])
            } else {
                carry = []
            }
            let finished = data.withUnsafeBufferPointer { bytes in
                !visitLinesBackward(UnsafeBufferPointer(rebasing: bytes[linesStart...]), visit)
            }
            if finished { return }
        }
    }

    /// Decodes the newline-separated lines of `bytes` from last to first and hands the entries
    /// to `visit`. Returns false as soon as `visit` returns false.
    private static func visitLinesBackward(_ bytes: UnsafeBufferPointer<UInt8>, _ visit: (LogEntry) -> Bool) -> Bool {
        var end = bytes.count
        while end > 0 {
            var start = end
            while start > 0, bytes[start - 1] != UInt8(ascii: "\n") { start -= 1 }
            if start < end, let entry = JSONFileLine.decode(UnsafeBufferPointer(rebasing: bytes[start..<end])) {
                guard visit(entry) else { return false }
            }
            end = start - 1
        }
        return true
    }

    /// Reads `buffer.count` bytes at `offset`, or returns false when the file is shorter or a read fails.
    private static func readFully(_ descriptor: Int32, into buffer: inout [UInt8], at offset: Int64) -> Bool {
        var done = 0
        let total = buffer.count
        return buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return total == 0 }
            while done < total {
                let count = pread(descriptor, base + done, total - done, off_t(offset) + off_t(done))
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return false }
                done += count
            }
            return true
        }
    }
}
