import KilnDiagnostics

/// One `RUN --mount=...` after its values are known, with BuildKit's defaults applied.
public struct RunMount: Sendable, Hashable, Codable {
    public enum MountType: String, Sendable, Hashable, Codable, CaseIterable {
        /// A directory of the build context, a stage or an image, read-only unless `rw`.
        case bind
        /// A directory kept between builds, keyed by `id` (default: the target).
        case cache
        /// An empty in-memory file system.
        case tmpfs
        /// A secret from `--secret id=...`, as a file or an environment variable.
        case secret
        /// The SSH agent socket from `--ssh`.
        case ssh
    }

    /// The sharing mode of a cache mount between concurrent builds.
    public enum Sharing: String, Sendable, Hashable, Codable, CaseIterable {
        case shared
        case `private`
        case locked
    }

    public var type: MountType
    /// The path in the container. Required for bind, cache and tmpfs.
    public var target: String?
    /// The path inside `from` (bind, cache) or the secret's file name.
    public var source: String?
    /// A stage name or image for bind and cache mounts.
    public var from: String?
    /// The cache, secret or SSH identifier.
    public var id: String?
    public var sharing: Sharing?
    public var readOnly: Bool
    /// Whether a missing secret or SSH socket fails the step (secret and ssh only).
    public var required: Bool
    /// File mode of the mount root, from octal (cache, secret, ssh).
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    /// Size limit of a tmpfs in bytes.
    public var size: Int64?
    /// The environment variable that receives a secret.
    public var env: String?

    private enum CodingKeys: String, CodingKey {
        case type, target, source, from, id, sharing, readOnly, required, mode, uid, gid, size, env
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(MountType.self, forKey: .type)
        target = try container.decodeIfPresent(String.self, forKey: .target)
        source = try container.decodeIfPresent(String.self, forKey: .source)
        from = try container.decodeIfPresent(String.self, forKey: .from)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        sharing = try container.decodeIfPresent(Sharing.self, forKey: .sharing)
        readOnly = try container.decode(Bool.self, forKey: .readOnly)
        required = try container.decode(Bool.self, forKey: .required)
        mode = try container.decodeIfPresent(String.self, forKey: .mode).flatMap { UInt32($0, radix: 8) }
        uid = try container.decodeIfPresent(UInt32.self, forKey: .uid)
        gid = try container.decodeIfPresent(UInt32.self, forKey: .gid)
        size = try container.decodeIfPresent(Int64.self, forKey: .size)
        env = try container.decodeIfPresent(String.self, forKey: .env)
    }

    /// Like the synthesized encoding, except that `mode` is an octal string (`"0700"`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(target, forKey: .target)
        try container.encodeIfPresent(source, forKey: .source)
        try container.encodeIfPresent(from, forKey: .from)
        try container.encodeIfPresent(id, forKey: .id)
        try container.encodeIfPresent(sharing, forKey: .sharing)
        try container.encode(readOnly, forKey: .readOnly)
        try container.encode(required, forKey: .required)
        try container.encodeIfPresent(mode.map { "0" + String($0, radix: 8) }, forKey: .mode)
        try container.encodeIfPresent(uid, forKey: .uid)
        try container.encodeIfPresent(gid, forKey: .gid)
        try container.encodeIfPresent(size, forKey: .size)
        try container.encodeIfPresent(env, forKey: .env)
    }

    public init(type: MountType) {
        self.type = type
        readOnly = type == .bind || type == .secret || type == .ssh
        required = false
    }

    /// The option names BuildKit accepts, for "did you mean".
    static let knownKeys = [
        "type", "from", "source", "src", "target", "dst", "destination", "readonly", "ro", "readwrite", "rw",
        "id", "sharing", "required", "mode", "uid", "gid", "size", "env",
    ]

    /// Parses a mount specification whose values are final (already expanded).
    public init(parsing text: String) throws(MountFailure) {
        try self.init(fields: MountFields(parsing: text))
    }

    init(fields: MountFields) throws(MountFailure) {
        var type = MountType.bind
        if let value = fields.values.last(where: { $0.key == "type" })?.value {
            guard let parsed = MountType(rawValue: value.lowercased()) else {
                throw .unsupportedType(value, suggestion: Suggestion.nearest(to: value, among: MountType.allCases.map(\.rawValue)))
            }
            type = parsed
        }
        self.init(type: type)
        var explicitReadOnly: Bool?

        for (key, value) in fields.values {
            guard let value else {
                switch key {
                case "readonly", "ro": explicitReadOnly = true
                case "readwrite", "rw": explicitReadOnly = false
                case "required":
                    guard type == .secret || type == .ssh else { throw .keyNotAllowed(key, type) }
                    required = true
                default: throw .notKeyValue(key)
                }
                continue
            }
            switch key {
            case "type": break
            case "from": from = value
            case "source", "src": source = value
            case "target", "dst", "destination": target = value
            case "readonly", "ro": explicitReadOnly = try Self.boolean(key, value)
            case "readwrite", "rw": explicitReadOnly = !(try Self.boolean(key, value))
            case "required":
                guard type == .secret || type == .ssh else { throw .keyNotAllowed(key, type) }
                required = try Self.boolean(key, value)
            case "id": id = value
            case "sharing":
                guard let parsed = Sharing(rawValue: value.lowercased()) else { throw .invalidValue(key, value) }
                guard type == .cache else { throw .keyNotAllowed(key, type) }
                sharing = parsed
            case "mode":
                // Without the check, chmod(2) would drop bits above 07777 silently.
                guard FileMode.isOctalDigits(value), let parsed = UInt32(value, radix: 8), parsed <= FileMode.maximumOctal
                else { throw .invalidValue(key, value) }
                mode = parsed
            case "uid":
                guard let parsed = UInt32(value) else { throw .invalidValue(key, value) }
                uid = parsed
            case "gid":
                guard let parsed = UInt32(value) else { throw .invalidValue(key, value) }
                gid = parsed
            case "size":
                guard type == .tmpfs else { throw .keyNotAllowed(key, type) }
                guard let parsed = ByteSize.parse(value) else { throw .invalidValue(key, value) }
                size = parsed
            case "env":
                guard type == .secret else { throw .keyNotAllowed(key, type) }
                env = value
            default:
                throw .unknownKey(key, suggestion: Suggestion.nearest(to: key, among: Self.knownKeys))
            }
        }
        if let explicitReadOnly { readOnly = explicitReadOnly }
        try validate()
    }

    private func validate() throws(MountFailure) {
        let ownershipAllowed = type == .cache || type == .secret || type == .ssh
        if mode != nil && !ownershipAllowed { throw .keyNotAllowed("mode", type) }
        if uid != nil && !ownershipAllowed { throw .keyNotAllowed("uid", type) }
        if gid != nil && !ownershipAllowed { throw .keyNotAllowed("gid", type) }
        switch type {
        case .bind, .cache, .tmpfs:
            guard let target, !target.isEmpty else { throw .missingTarget(type) }
        case .secret:
            if from != nil { throw .keyNotAllowed("from", type) }
            if source != nil && id != nil { throw .sourceAndID }
            if source == nil && target == nil && id == nil && env == nil { throw .secretWithoutName }
        case .ssh:
            if from != nil { throw .keyNotAllowed("from", type) }
        }
        if type == .tmpfs && (from != nil || source != nil) {
            throw .keyNotAllowed(from != nil ? "from" : "source", type)
        }
    }

    private static func boolean(_ key: String, _ value: String) throws(MountFailure) -> Bool {
        // Go's strconv.ParseBool.
        switch value {
        case "1", "t", "T", "true", "TRUE", "True": return true
        case "0", "f", "F", "false", "FALSE", "False": return false
        default: throw .invalidValue(key, value)
        }
    }
}
