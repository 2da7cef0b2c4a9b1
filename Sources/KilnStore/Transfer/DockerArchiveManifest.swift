import KilnImage

/// One image of a docker-archive's `manifest.json`, with its paths checked.
struct DockerArchiveManifest {
    /// The JSON path of the entry, for messages (`manifest.json[0]`).
    var field: String
    /// The config member (`<hex>.json` or `blobs/sha256/<hex>`).
    var config: String
    var tags: [Reference]
    /// The layer members, base layer first.
    var layers: [String]

    /// Parses `manifest.json`: an array of `{"Config", "RepoTags", "Layers"}` objects.
    ///
    /// Every path must stay inside the archive: absolute paths and `..` components are
    /// rejected, naming the field, even though kiln never writes a member to disk by name.
    static func parse(_ bytes: [UInt8], archive: ImageArchive) throws -> [DockerArchiveManifest] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch let error as ImageError {
            throw archive.failure("manifest.json", error.diagnostic.message)
        }
        guard let items = value.arrayValue else {
            throw archive.failure("manifest.json", "expected an array of images")
        }
        guard !items.isEmpty else { throw archive.failure("manifest.json", "lists no images") }

        return try items.enumerated().map { index, item in
            let field = "manifest.json[\(index)]"
            guard let object = item.objectValue else {
                throw archive.failure("manifest.json", "\(field) is not an object")
            }
            guard let config = object["Config"]?.stringValue else {
                throw archive.failure("manifest.json", "\(field).Config is missing or not a string")
            }
            guard let layerValues = object["Layers"]?.arrayValue else {
                throw archive.failure("manifest.json", "\(field).Layers is missing or not an array")
            }
            let layers = try layerValues.enumerated().map { layerIndex, layer -> String in
                guard let path = layer.stringValue else {
                    throw archive.failure("manifest.json", "\(field).Layers[\(layerIndex)] is not a string")
                }
                return try checkedPath(path, field: "\(field).Layers[\(layerIndex)]", archive: archive)
            }
            var tags: [Reference] = []
            if let tagValues = object["RepoTags"], !tagValues.isNull {
                guard let array = tagValues.arrayValue else {
                    throw archive.failure("manifest.json", "\(field).RepoTags is not an array")
                }
                for (tagIndex, tagValue) in array.enumerated() {
                    guard let text = tagValue.stringValue else {
                        throw archive.failure("manifest.json", "\(field).RepoTags[\(tagIndex)] is not a string")
                    }
                    do {
                        let reference = try Reference.normalized(text)
                        guard reference.digest == nil else {
                            throw ImageError.invalidReference(text, reason: "a tag cannot contain a digest")
                        }
                        tags.append(reference)
                    } catch let error as ImageError {
                        throw archive.failure(
                            "manifest.json", "\(field).RepoTags[\(tagIndex)]: \(error.diagnostic.message)")
                    }
                }
            }
            return DockerArchiveManifest(
                field: field, config: try checkedPath(config, field: "\(field).Config", archive: archive), tags: tags,
                layers: layers)
        }
    }

    /// `path` cleaned, after checking that it names a member inside the archive.
    static func checkedPath(_ path: String, field: String, archive: ImageArchive) throws -> String {
        guard !path.isEmpty else { throw archive.failure("manifest.json", "\(field) is empty") }
        guard !path.hasPrefix("/") else {
            throw archive.failure(
                "manifest.json", "\(field) \"\(path)\" is an absolute path; members are named relative to the archive")
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains("..") else {
            throw archive.failure("manifest.json", "\(field) \"\(path)\" leaves the archive with \"..\"")
        }
        guard !path.utf8.contains(0) else { throw archive.failure("manifest.json", "\(field) contains a NUL byte") }
        return components.filter { $0 != "." }.joined(separator: "/")
    }
}
