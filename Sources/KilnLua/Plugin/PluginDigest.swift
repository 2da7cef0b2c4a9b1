import CCrypto
import Foundation

/// Content digests of plugins, for `.kiln/plugins.lock` and cache keys.
enum PluginDigest {
    /// `sha256:<hex>` of `bytes`.
    static func sha256(_ bytes: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        bytes.withUnsafeBytes { buffer in
            _ = EVP_Digest(buffer.baseAddress, buffer.count, &digest, &length, EVP_sha256(), nil)
        }
        return "sha256:" + digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }

    /// Computes the digest of a folder plugin: SHA-256 over one line per regular file, sorted by path,
    /// `<relative path> <sha256 of the file>`. Every file counts, so the lock covers whatever
    /// `require` could load.
    static func folder(_ root: String) throws -> String {
        var lines: [String] = []
        let base = URL(fileURLWithPath: root).standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: base) else {
            throw CocoaError(.fileReadNoSuchFile)
        }
        while let relative = walker.nextObject() as? String {
            let path = base + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            lines.append("\(relative) \(sha256(bytes))")
        }
        lines.sort()
        return sha256(Array(lines.joined(separator: "\n").utf8))
    }
}
