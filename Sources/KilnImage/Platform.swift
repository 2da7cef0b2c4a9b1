#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The operating system and CPU an image is built for, as in an index entry or an image config.
public struct Platform: Sendable, Hashable, CustomStringConvertible, JSONRepresentable {
    public var os: String
    public var architecture: String
    public var variant: String?
    /// `os.version`, used by Windows images.
    public var osVersion: String?
    /// `os.features`, used by Windows images.
    public var osFeatures: [String]?
    /// Members kiln does not model, kept when the platform is written again.
    public var extra: [String: JSONValue] = [:]

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// Parses `os/architecture[/variant]` (`linux/amd64`, `linux/arm64/v8`) and normalises the
    /// common aliases (`x86_64` is `amd64`, `aarch64` is `arm64`, `armhf` is `arm/v7`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count) else {
            throw ImageError.invalidPlatform(text, reason: "expected os/architecture or os/architecture/variant")
        }
        for part in parts where part.isEmpty || !part.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" }) {
            throw ImageError.invalidPlatform(text, reason: "invalid component \(quoted(part))")
        }
        self.init(os: parts[0].lowercased(), architecture: parts[1].lowercased(), variant: parts.count == 3 ? parts[2].lowercased() : nil)
        self = normalized
    }

    /// The platform of the machine kiln runs on.
    public static let host: Platform = {
        var names = utsname()
        uname(&names)
        let machine = withUnsafeBytes(of: &names.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return Platform(os: "linux", architecture: machine).normalized
    }()

    /// The platform with architecture aliases replaced by their OCI names and a default variant
    /// filled in where the architecture has one (`arm64` is `v8`, `arm` is `v7`).
    public var normalized: Platform {
        var copy = self
        copy.os = os.lowercased()
        switch architecture.lowercased() {
        case "x86_64", "x86-64", "amd64":
            copy.architecture = "amd64"
        case "i386", "i686", "386":
            copy.architecture = "386"
        case "aarch64", "arm64":
            copy.architecture = "arm64"
            if variant == nil || variant == "8" || variant == "" { copy.variant = "v8" }
        case "armhf", "armv7l", "armv7":
            copy.architecture = "arm"
            copy.variant = variant ?? "v7"
        case "armel", "armv6l", "armv6":
            copy.architecture = "arm"
            copy.variant = variant ?? "v6"
        case "arm":
            copy.architecture = "arm"
            copy.variant = variant ?? "v7"
        default:
            copy.architecture = architecture.lowercased()
        }
        if copy.variant == "" { copy.variant = nil }
        return copy
    }

    /// Whether an image for `candidate` runs here, when `self` is the wanted platform.
    ///
    /// OS and architecture must be equal after normalisation. A wanted variant must match,
    /// except that the default variants (`amd64` v1, `arm64` v8) equal no variant at all.
    public func matches(_ candidate: Platform) -> Bool {
        let wanted = normalized
        let offered = candidate.normalized
        guard wanted.os == offered.os, wanted.architecture == offered.architecture else { return false }
        return wanted.effectiveVariant == offered.effectiveVariant
    }

    private var effectiveVariant: String? {
        switch (architecture, variant) {
        case ("amd64", "v1"): nil
        default: variant
        }
    }

    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }

    public init(json: JSONValue, path: String) throws {
        var reader = try JSONObjectReader(json, path: path)
        os = try reader.requiredString("os")
        architecture = try reader.requiredString("architecture")
        variant = try reader.string("variant")
        osVersion = try reader.string("os.version")
        osFeatures = try reader.stringArray("os.features")
        extra = reader.remaining
    }

    public var json: JSONValue {
        var builder = JSONObjectBuilder(extra: extra)
        builder.set("os", os)
        builder.set("architecture", architecture)
        builder.set("variant", variant)
        builder.set("os.version", osVersion)
        builder.set("os.features", osFeatures)
        return builder.value
    }
}
