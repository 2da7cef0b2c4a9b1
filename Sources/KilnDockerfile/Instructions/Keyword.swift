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

    /// The nearest keyword to a misspelt `word`, for "did you mean".
    static func suggestion(for word: String) -> String? {
        Suggestion.nearest(to: word, among: allCases.map(\.rawValue))
    }
}
