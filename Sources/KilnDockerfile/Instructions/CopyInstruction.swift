/// `COPY [--from=...] [--chown=...] [--chmod=...] [--link] [--parents] [--exclude=...] SRC... DEST`.
public struct CopyInstruction: Sendable, Hashable, Codable {
    public var sources: [CopySource]
    public var destination: String
    /// `--from`: a stage name, a stage index or an image; never expanded.
    public var from: String?
    /// `--chown=user[:group]` as written.
    public var chown: String?
    /// `--chmod` as written.
    public var chmod: String?
    /// The decoded `--chmod` when it contains no variables; nil until the engine expands it.
    public var mode: FileMode?
    public var link: Bool
    public var parents: Bool
    public var excludes: [String]
    /// Whether the arguments came from a JSON array.
    public var isJSONForm: Bool

    public init(
        sources: [CopySource], destination: String, from: String? = nil, chown: String? = nil, chmod: String? = nil,
        mode: FileMode? = nil, link: Bool = false, parents: Bool = false, excludes: [String] = [], isJSONForm: Bool = false
    ) {
        self.sources = sources
        self.destination = destination
        self.from = from
        self.chown = chown
        self.chmod = chmod
        self.mode = mode
        self.link = link
        self.parents = parents
        self.excludes = excludes
        self.isJSONForm = isJSONForm
    }
}
