import KilnDiagnostics
import KilnSystem

/// Errors of the image model: malformed JSON, invalid fields, digests, references and platforms.
public indirect enum ImageError: KilnError, Equatable {
    /// The bytes are not JSON; `offset` is the byte where parsing stopped.
    case invalidJSON(offset: Int, reason: String)
    /// A field of a document has an invalid value; `path` is its JSON path (`layers[2].size`).
    case invalidField(path: String, reason: String)
    case invalidDigest(String, reason: String)
    case invalidReference(String, reason: String)
    case invalidPlatform(String, reason: String)
    /// The document could be read as more than one kind (a manifest and an index).
    case ambiguousDocument(reason: String)
    /// A document kiln recognises but does not support, such as a Docker schema 1 manifest.
    case unsupportedDocument(mediaType: String, reason: String)
    /// The media type declared outside the document disagrees with the document's own `mediaType`.
    case mediaTypeMismatch(declared: String, document: String)
    case digestMismatch(expected: Digest, actual: Digest)
    /// Another error, inside the document named by `document` (`manifest sha256:…`).
    case inDocument(String, ImageError)

    /// The error without its document context.
    public var underlying: ImageError {
        if case .inDocument(_, let inner) = self { return inner.underlying }
        return self
    }

    public var diagnostic: Diagnostic {
        switch self {
        case .invalidJSON(let offset, let reason):
            return .error("invalid JSON at byte \(offset): \(reason)")
        case .invalidField(let path, let reason):
            return .error("invalid \(path.isEmpty ? "document" : "field \(path)"): \(reason)")
        case .invalidDigest(let value, let reason):
            return .error(
                "invalid digest \(quoted(value)): \(reason)",
                hint: "a digest looks like sha256: followed by 64 lower-case hex digits")
        case .invalidReference(let value, let reason):
            return .error("invalid reference \(quoted(value)): \(reason)")
        case .invalidPlatform(let value, let reason):
            return .error(
                "invalid platform \(quoted(value)): \(reason)",
                hint: "a platform looks like linux/amd64 or linux/arm64/v8")
        case .ambiguousDocument(let reason):
            return .error("ambiguous document: \(reason)")
        case .unsupportedDocument(let mediaType, let reason):
            return .error("unsupported document \(quoted(mediaType)): \(reason)")
        case .mediaTypeMismatch(let declared, let document):
            return .error(
                "media type mismatch: declared \(quoted(declared)) but the document says \(quoted(document))")
        case .digestMismatch(let expected, let actual):
            return .error("digest mismatch for \(expected) (got \(actual))")
        case .inDocument(let document, let inner):
            var diagnostic = inner.diagnostic
            diagnostic.message = "\(document): \(diagnostic.message)"
            return diagnostic
        }
    }
}

/// `value` in double quotes with control characters and quotes escaped, and shortened past
/// `maximumDisplayScalars`, for error messages.
func quoted(_ value: String) -> String {
    escapedForDisplay(value)
}
