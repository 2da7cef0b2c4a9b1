/// The reason a `--mount` value is invalid, which `DockerfileError` turns into words.
public enum MountFailure: Error, Sendable, Hashable {
    case csv(String)
    case notKeyValue(String)
    case unknownKey(String, suggestion: String?)
    case unsupportedType(String, suggestion: String?)
    case invalidValue(String, String)
    case keyNotAllowed(String, RunMount.MountType)
    case missingTarget(RunMount.MountType)
    case sourceAndID
    case secretWithoutName
    case fromWithVariable(String)

    var words: String {
        switch self {
        case .csv(let reason): "it is not valid comma-separated text: \(reason)"
        case .notKeyValue(let field): "field \(DockerfileError.quoted(field)) must be a key=value pair"
        case .unknownKey(let key, let suggestion):
            "unknown option \(DockerfileError.quoted(key))" + (suggestion.map { " (did you mean \($0)?)" } ?? "")
        case .unsupportedType(let type, let suggestion):
            "unsupported mount type \(DockerfileError.quoted(type))" + (suggestion.map { " (did you mean \($0)?)" } ?? "")
                + "; expected bind, cache, tmpfs, secret or ssh"
        case .invalidValue(let key, let value): "invalid value \(DockerfileError.quoted(value)) for \(key)"
        case .keyNotAllowed(let key, let type): "option \(DockerfileError.quoted(key)) is not allowed for \(type.rawValue) mounts"
        case .missingTarget(let type): "a \(type.rawValue) mount needs a target, as in target=/path"
        case .sourceAndID: "a secret mount takes source or id, not both"
        case .secretWithoutName: "a secret mount needs an id, a source, a target or an env"
        case .fromWithVariable(let value):
            "from does not expand variables, got \(DockerfileError.quoted(value)); declare a stage `FROM \(DockerfileError.shortened(value)) AS NAME` and use from=NAME"
        }
    }
}
