import KilnDiagnostics
import KilnImage
import KilnSystem

/// Errors of layer reading, writing, applying and diffing.
///
/// Every case that concerns one layer carries its name (`layer`, usually its digest) and, for
/// one entry, the entry's name as it appears in the archive, escaped for printing.
public enum LayerError: KilnError, Equatable {
    /// An entry breaks a rule of safe extraction (a name that leaves the root, a bad whiteout, a
    /// hard link to a directory).
    case invalidEntry(layer: String, entry: FilePath, reason: String)
    /// A configured limit was reached.
    case limitExceeded(layer: String, limit: LayerLimits.Limit, maximum: Int64, entry: FilePath?)
    /// The archive or its compression is malformed; `offset` is the uncompressed byte offset when known.
    case malformedArchive(layer: String, offset: Int64?, reason: String)
    /// The uncompressed tar's digest is not the expected diff ID.
    case diffIDMismatch(layer: String, expected: Digest, actual: Digest)
    /// The compressed blob's digest is not the expected digest.
    case digestMismatch(layer: String, expected: Digest, actual: Digest)
    /// A system call failed while working on `entry` (or on the layer as a whole).
    case system(layer: String, entry: FilePath?, SystemError)
    /// The compressor or decompressor failed for a reason other than bad input.
    case compressionFailed(reason: String)
    /// The overlay upper directory uses a feature whose diff would be wrong
    /// (`trusted.overlay.metacopy`, `trusted.overlay.redirect`).
    case unsupportedOverlayFeature(path: FilePath, attribute: String)

    /// The message without its leading `layer NAME: `, for a caller whose input is the layer
    /// itself (`kiln import`) and names it in its own words.
    public var messageWithoutLayer: String {
        let message = diagnostic.message
        let layer: String
        switch self {
        case .invalidEntry(let name, _, _), .limitExceeded(let name, _, _, _), .malformedArchive(let name, _, _),
            .diffIDMismatch(let name, _, _), .digestMismatch(let name, _, _), .system(let name, _, _):
            layer = name
        case .compressionFailed, .unsupportedOverlayFeature:
            return message
        }
        let prefix = "layer \(layer): "
        return message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message
    }

    public var diagnostic: Diagnostic {
        switch self {
        case .invalidEntry(let layer, let entry, let reason):
            return .error("layer \(layer): entry \(escapedForDisplay(entry.description)): \(reason)")
        case .limitExceeded(let layer, let limit, let maximum, let entry):
            let place = entry.map { " at entry \(escapedForDisplay($0.description))" } ?? ""
            return .error(
                "layer \(layer): \(limit.description) exceeds the limit of \(maximum)\(place)",
                hint: "raise the limit only for content you trust (\(limit.optionName))")
        case .malformedArchive(let layer, let offset, let reason):
            let place = offset.map { " at byte \($0)" } ?? ""
            return .error("layer \(layer): malformed archive\(place): \(reason)")
        case .diffIDMismatch(let layer, let expected, let actual):
            return .error("layer \(layer): diffID mismatch: expected \(expected), got \(actual)")
        case .digestMismatch(let layer, let expected, let actual):
            return .error("layer \(layer): digest mismatch for \(expected) (got \(actual))")
        case .system(let layer, let entry, let error):
            let place = entry.map { "entry \(escapedForDisplay($0.description)): " } ?? ""
            return .error("layer \(layer): \(place)\(error.diagnostic.message)")
        case .compressionFailed(let reason):
            return .error("compression failed: \(reason)")
        case .unsupportedOverlayFeature(let path, let attribute):
            return .error(
                "cannot diff \(escapedForDisplay(path.description)): it has the overlay attribute \(attribute)",
                hint: "mount overlay snapshots with metacopy=off and redirect_dir=off")
        }
    }
}
