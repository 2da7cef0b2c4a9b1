/// A COPY or ADD source: a path (or URL, for ADD) as written, or an inline file from a heredoc.
public enum CopySource: Sendable, Hashable, Codable {
    case path(String)
    /// `COPY <<EOF /dest`: a file named after the delimiter with the heredoc's content.
    case heredoc(Heredoc)

    private enum CodingKeys: String, CodingKey {
        case path
        case heredoc
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let path = try container.decodeIfPresent(String.self, forKey: .path) {
            self = .path(path)
        } else {
            self = .heredoc(try container.decode(Heredoc.self, forKey: .heredoc))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .path(let path): try container.encode(path, forKey: .path)
        case .heredoc(let heredoc): try container.encode(heredoc, forKey: .heredoc)
        }
    }
}
