import Foundation

/// A request body that can be sent again from the start, which retries and redirects need.
public enum HTTPRequestBody: Sendable {
    case empty
    case bytes([UInt8])
    /// `length` bytes of the file at `path` from `offset`, streamed without loading the file.
    case file(path: String, offset: Int64, length: Int64)

    var length: Int64 {
        switch self {
        case .empty: 0
        case .bytes(let bytes): Int64(bytes.count)
        case .file(_, _, let length): length
        }
    }
}

public struct HTTPRequest: Sendable {
    public var method: String
    public var url: HTTPURL
    public var headers: HTTPHeaders
    public var body: HTTPRequestBody

    public init(method: String, url: HTTPURL, headers: HTTPHeaders = HTTPHeaders(), body: HTTPRequestBody = .empty) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// The status line and headers of a response.
public struct HTTPResponseHead: Sendable {
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders

    public var isRedirect: Bool { [301, 302, 303, 307, 308].contains(status) }
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The declared body length, when the response has one.
    public var contentLength: Int64? {
        headers["Content-Length"].flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The media type of `Content-Type` without parameters such as `charset`.
    public var contentType: String? {
        guard let value = headers["Content-Type"] else { return nil }
        let type = value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? value
        let trimmed = type.trimmingCharacters(in: .whitespaces).lowercased()
        return trimmed.isEmpty ? nil : trimmed
    }
}
