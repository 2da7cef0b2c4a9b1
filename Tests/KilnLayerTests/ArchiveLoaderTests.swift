import CArchive
import Glibc
import Testing

@testable import KilnLayer

/// libarchive ends the process when a name getter fails to convert a name while errno reads
/// ENOMEM, a value that any earlier call on the thread may have left. kiln's loader clears errno
/// before each such call.
struct ArchiveLoaderTests {
    @Test func nameCallsClearStaleErrno() throws {
        let entry = try #require(archive_entry_new())
        defer { archive_entry_free(entry) }
        _ = archive_entry_update_pathname_utf8(entry, "etc/passwd")
        _ = archive_entry_update_symlink_utf8(entry, "../target")

        let calls: [(String, () -> Void)] = [
            ("pathname", { _ = archive_entry_pathname(entry) }),
            ("pathname_utf8", { _ = archive_entry_pathname_utf8(entry) }),
            ("symlink", { _ = archive_entry_symlink(entry) }),
            ("symlink_utf8", { _ = archive_entry_symlink_utf8(entry) }),
            ("hardlink", { _ = archive_entry_hardlink(entry) }),
            ("hardlink_utf8", { _ = archive_entry_hardlink_utf8(entry) }),
            ("update_pathname_utf8", { _ = archive_entry_update_pathname_utf8(entry, "etc/group") }),
        ]
        for (name, call) in calls {
            errno = ENOMEM
            call()
            #expect(errno != ENOMEM, "archive_entry_\(name) kept a stale ENOMEM")
        }
    }
}

/// Debian's static libzstd.a is built without threads, so kiln links the shared library, whose
/// worker threads compress zstd layers on every core.
struct ZstdThreadTests {
    @Test func zstdAcceptsWorkerThreads() throws {
        let compressor = try ZstdCompressor(level: 3, threadCount: 2) { _ in }
        #expect(compressor.workerThreads == 2)
    }
}
