/// `ADD [--chown=...] [--chmod=...] [--link] [--exclude=...] [--checksum=...] [--keep-git-dir]
/// [--unpack] SRC... DEST`: like COPY, and also fetches URLs and git repositories and unpacks
/// local archives.
public struct AddInstruction: Sendable, Hashable, Codable {
    public var sources: [CopySource]
    public var destination: String
    public var chown: String?
    public var chmod: String?
    /// The decoded `--chmod` when it contains no variables; nil until the engine expands it.
    public var mode: FileMode?
    public var link: Bool
    public var excludes: [String]
    /// `--checksum=sha256:...` for a URL or git source.
    public var checksum: String?
    /// `--keep-git-dir`: keep `.git` when adding a git repository.
    public var keepGitDir: Bool
    /// `--unpack`: whether to unpack an archive; nil when the flag is absent (the default
    /// unpacks local archives and not URLs).
    public var unpack: Bool?
    public var isJSONForm: Bool

    public init(
        sources: [CopySource], destination: String, chown: String? = nil, chmod: String? = nil, mode: FileMode? = nil,
        link: Bool = false, excludes: [String] = [], checksum: String? = nil, keepGitDir: Bool = false,
        unpack: Bool? = nil, isJSONForm: Bool = false
    ) {
        self.sources = sources
        self.destination = destination
        self.chown = chown
        self.chmod = chmod
        self.mode = mode
        self.link = link
        self.excludes = excludes
        self.checksum = checksum
        self.keepGitDir = keepGitDir
        self.unpack = unpack
        self.isJSONForm = isJSONForm
    }
}
