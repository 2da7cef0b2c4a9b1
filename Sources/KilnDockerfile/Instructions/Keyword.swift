import KilnDiagnostics

/// The instructions of the Dockerfile language. Keywords are case-insensitive in a Dockerfile.
public enum Keyword: String, Sendable, Hashable, CaseIterable, Codable {
    case add = "ADD"
    case arg = "ARG"
    case cmd = "CMD"
    case copy = "COPY"
    case entrypoint = "ENTRYPOINT"
    case env = "ENV"
    case expose = "EXPOSE"
    case from = "FROM"
    case healthcheck = "HEALTHCHECK"
    case label = "LABEL"
    case maintainer = "MAINTAINER"
    case onbuild = "ONBUILD"
    case run = "RUN"
    case shell = "SHELL"
    case stopSignal = "STOPSIGNAL"
    case user = "USER"
    case volume = "VOLUME"
    case workdir = "WORKDIR"

    /// The keyword for `word` in any letter case.
    public init?(word: String) {
        self.init(rawValue: word.uppercased())
    }

    /// The keyword spelled by `bytes[start..<end]` in any letter case, compared byte by byte
    /// so the parser needs no lower-cased copy of every instruction word.
    init?(bytes: [UInt8], _ start: Int, _ end: Int) {
        let length = end - start
        for keyword in Self.allCases where keyword.rawValue.utf8.count == length {
            var index = start
            var matches = true
            for expected in keyword.rawValue.utf8 {
                // Clearing bit 0x20 upper-cases an ASCII letter; the keywords are letters only.
                if bytes[index] & 0xDF != expected {
                    matches = false
                    break
                }
                index += 1
            }
            if matches {
                self = keyword
                return
            }
        }
        return nil
    }

    /// Returns the nearest keyword to a misspelt `word`, for "did you mean".
    static func suggestion(for word: String) -> String? {
        Suggestion.nearest(to: word, among: allCases.map(\.rawValue))
    }
}
