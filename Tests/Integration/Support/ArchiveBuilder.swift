import Foundation
import KilnImage

/// Small docker-archives made in a test, with the layers it needs, through GNU tar.
enum ArchiveBuilder {
    /// Bytes from the start of an archive made by `dockerArchive` through the end of its last
    /// layer member: after these, a reader has every layer and waits for the documents.
    static func layerBytes(of path: String) throws -> Int {
        let listing = try Command.run("/bin/tar", ["-tvf", path])
        var offset = 0
        for line in listing.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, let size = Int(fields[2]), let name = fields.last else { continue }
            guard name.hasPrefix("layer") else { break }
            offset += 512 + (size + 511) / 512 * 512
        }
        return offset
    }

    /// Writes a docker-archive at `path` whose layers are the directories in `layers` (each
    /// turned into an uncompressed tar), tagged `tag`, with `createdBy` as history.
    static func dockerArchive(
        at path: String, layers: [String], tag: String, createdBy: [String]? = nil, scratch: String
    ) throws {
        let work = scratch + "/archive-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var diffIDs: [String] = []
        var layerNames: [String] = []
        for (index, directory) in layers.enumerated() {
            let name = "layer\(index).tar"
            try Command.run(
                "/bin/tar",
                [
                    "--numeric-owner", "--sort=name", "--mtime=@1700000000", "-C", directory, "-cf", work + "/" + name,
                    ".",
                ])
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/" + name)))
            diffIDs.append(Digest.sha256(of: bytes).description)
            layerNames.append(name)
        }
        let history = (createdBy ?? layers.map { _ in "layer" }).map {
            JSONValue.object(["created": "2024-05-01T12:00:00Z", "created_by": .string($0)])
        }
        let config: JSONValue = [
            "architecture": "amd64", "os": "linux", "created": "2024-05-01T12:00:00Z",
            "config": ["Cmd": ["/bin/sh"]],
            "rootfs": ["type": "layers", "diff_ids": .array(diffIDs.map(JSONValue.string))],
            "history": .array(history),
        ]
        let configBytes = config.canonicalBytes()
        try Data(configBytes).write(to: URL(fileURLWithPath: work + "/config.json"))
        let manifest: JSONValue = [
            ["Config": "config.json", "RepoTags": [.string(tag)], "Layers": .array(layerNames.map(JSONValue.string))]
        ]
        try Data(manifest.canonicalBytes()).write(to: URL(fileURLWithPath: work + "/manifest.json"))
        // Layers first and the small documents last, as `docker save` orders them; a test that
        // feeds the archive slowly can stop after the layers with `layerBytes(of:)`.
        try Command.run("/bin/tar", ["-C", work, "-cf", path] + layerNames + ["config.json", "manifest.json"])
        try FileManager.default.removeItem(atPath: work)
    }
}
