import Foundation
import KilnImage
import Synchronization

/// Which repositories of which registries are known to hold each blob, so a push can mount a
/// blob from a repository of the same registry instead of uploading it again.
///
/// Kept in a small JSON file (`{"sha256:…": ["127.0.0.1:5000/kiln/first", …]}`) that pulls and
/// pushes update. A lost or stale entry only costs an upload: a mount of a blob the repository
/// lacks turns into an ordinary upload session.
public final class BlobLocations: Sendable {
    /// Repositories remembered per blob; the oldest are forgotten first.
    static let maximumPerBlob = 8
    static let maximumBlobs = 50_000

    private let path: String?
    private let entries: Mutex<[String: [String]]>

    /// Locations kept in memory only, for tests and one-off commands.
    public convenience init() {
        self.init(path: nil, entries: [:])
    }

    /// Loads the file at `path`; a missing or unreadable file starts empty.
    public convenience init(path: String) {
        var entries: [String: [String]] = [:]
        if let data = FileManager.default.contents(atPath: path), let json = try? JSONValue.parse(Array(data)),
            let object = json.objectValue
        {
            for (digest, list) in object {
                entries[digest] = list.arrayValue?.compactMap(\.stringValue)
            }
        }
        self.init(path: path, entries: entries)
    }

    private init(path: String?, entries: [String: [String]]) {
        self.path = path
        self.entries = Mutex(entries)
    }

    /// Another repository on `registry` known to hold `digest`, other than `repository`.
    public func mountSource(for digest: Digest, registry: String, excluding repository: String) -> String? {
        let prefix = "\(registry)/"
        return entries.withLock { entries in
            entries[digest.description]?.reversed().first { $0.hasPrefix(prefix) && $0 != prefix + repository }
                .map { String($0.dropFirst(prefix.count)) }
        }
    }

    public func record(_ digest: Digest, registry: String, repository: String) {
        let location = "\(registry)/\(repository)"
        entries.withLock { entries in
            var list = entries[digest.description, default: []]
            list.removeAll { $0 == location }
            list.append(location)
            if list.count > Self.maximumPerBlob { list.removeFirst(list.count - Self.maximumPerBlob) }
            if entries[digest.description] == nil && entries.count >= Self.maximumBlobs, let victim = entries.keys.first {
                entries[victim] = nil
            }
            entries[digest.description] = list
        }
    }

    /// Writes the file through a temporary file and a rename. Failures are ignored: the file is a
    /// cache.
    public func save() {
        guard let path else { return }
        let snapshot = entries.withLock { $0 }
        let json = JSONValue.object(snapshot.mapValues { .array($0.map { .string($0) }) })
        let temporary = "\(path).tmp-\(getpid())"
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard (try? Data(json.canonicalBytes()).write(to: URL(fileURLWithPath: temporary))) != nil else { return }
        if rename(temporary, path) != 0 { unlink(temporary) }
    }
}
