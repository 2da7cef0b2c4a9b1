import Foundation
import KilnDockerfile
import KilnImage

/// Builds a step's cache key: the SHA-256 of labelled fields, each written with its length so
/// that no two different field lists produce the same bytes.
///
/// The fields are the parent key, the instruction after variable expansion (without its line
/// numbers, so moving a step does not invalidate it), the build arguments it used, and what
/// each kind of step adds: the digests of copied files, a RUN's environment, user, working
/// directory, network and mounts, and the plugins that touched the step.
struct CacheKeyBuilder {
    private var bytes: [UInt8] = []

    init(kind: String) {
        add("kiln-cache-key-version", "1")
        add("kind", kind)
    }

    mutating func add(_ name: String, _ value: String) {
        let field = Array(value.utf8)
        bytes += Array("\(name):\(field.count):".utf8)
        bytes += field
        bytes.append(0x0A)
    }

    mutating func add(_ name: String, _ values: [String]) {
        add(name, values.count.description)
        for (index, value) in values.enumerated() { add("\(name)[\(index)]", value) }
    }

    mutating func add(_ name: String, _ digest: Digest) {
        add(name, digest.description)
    }

    var key: Digest { .sha256(of: bytes) }

    /// The instruction as canonical JSON: every field of its body after expansion, its original
    /// text and heredocs, and none of its locations or comments.
    static func canonicalInstruction(_ instruction: Instruction) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(instruction),
            var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else {
            return instruction.original
        }
        for key in ["line", "endLine", "comments"] { object.removeValue(forKey: key) }
        guard let canonical = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return instruction.original }
        return String(decoding: canonical, as: UTF8.self)
    }
}
