/// A manifest or an index, decided from the document itself and never from a Content-Type alone.
public enum ImageDocument: Sendable, Hashable {
    case manifest(Manifest)
    case index(Index)

    /// Decodes a manifest or index.
    ///
    /// - Parameter declaredMediaType: the media type the document came with (a registry's
    ///   Content-Type, a descriptor's `mediaType`); it must agree with the document's own.
    /// - Throws: `ImageError` for invalid JSON or fields (with the JSON path), a document that has
    ///   members of both a manifest and an index, a Docker schema 1 manifest, or a declared media
    ///   type that disagrees with the document.
    public static func decode(_ bytes: some Collection<UInt8>, declaredMediaType: MediaType? = nil) throws
        -> ImageDocument
    {
        let value = try JSONValue.parse(bytes)
        guard case .object(let members) = value else {
            throw ImageError.invalidField(path: "", reason: "expected an object, got \(value.typeName)")
        }

        let isIndexShaped = members["manifests"] != nil
        let isManifestShaped = members["config"] != nil || members["layers"] != nil
        if isIndexShaped && isManifestShaped {
            let other = members["config"] != nil ? "config" : "layers"
            throw ImageError.ambiguousDocument(reason: "it has both \"manifests\" and \"\(other)\"")
        }

        var documentType: MediaType?
        if let field = members["mediaType"], !field.isNull {
            guard let text = field.stringValue else {
                throw ImageError.invalidField(path: "mediaType", reason: "expected a string, got \(field.typeName)")
            }
            documentType = MediaType(rawValue: text)
        }
        let schemaVersion = members["schemaVersion"]?.int64Value
        if documentType?.isSchema1 == true || declaredMediaType?.isSchema1 == true || schemaVersion == 1
            || members["fsLayers"] != nil
        {
            throw ImageError.unsupportedDocument(
                mediaType: (documentType ?? declaredMediaType ?? .dockerManifestSchema1).rawValue, reason: schema1Reason)
        }

        if let declaredMediaType, let documentType, declaredMediaType != documentType {
            throw ImageError.mediaTypeMismatch(declared: declaredMediaType.rawValue, document: documentType.rawValue)
        }
        let effectiveType = documentType ?? declaredMediaType
        if let effectiveType {
            if effectiveType.isManifest {
                guard !isIndexShaped else {
                    throw ImageError.mediaTypeMismatch(declared: effectiveType.rawValue, document: "an index")
                }
                return .manifest(try Manifest(json: value, path: ""))
            }
            if effectiveType.isIndex {
                guard !isManifestShaped else {
                    throw ImageError.mediaTypeMismatch(declared: effectiveType.rawValue, document: "a manifest")
                }
                return .index(try Index(json: value, path: ""))
            }
            throw ImageError.unsupportedDocument(
                mediaType: effectiveType.rawValue, reason: "not an image manifest or index media type")
        }

        // No media type anywhere: the structure decides, and it is unambiguous at this point.
        if isIndexShaped { return .index(try Index(json: value, path: "")) }
        if isManifestShaped { return .manifest(try Manifest(json: value, path: "")) }
        throw ImageError.invalidField(
            path: "", reason: "neither a manifest (no \"config\") nor an index (no \"manifests\")")
    }

    public var mediaType: MediaType? {
        switch self {
        case .manifest(let manifest): manifest.mediaType
        case .index(let index): index.mediaType
        }
    }
}
