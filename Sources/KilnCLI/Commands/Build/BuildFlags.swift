import Foundation
import KilnBuild
import KilnDiagnostics
import KilnImage
import KilnRuntime

/// The flags of `kiln build` read into `BuildOptions`, with Docker's wording for bad values.
enum BuildFlags {
    static func options(_ arguments: ParsedArguments, context: CommandContext) throws -> BuildOptions {
        let command = arguments.commandName
        var options = BuildOptions()
        for text in arguments[BuildCommand.tag] {
            let reference: Reference
            do {
                reference = try Reference(parsing: text)
            } catch {
                var reason = "invalid reference format"
                if case ImageError.invalidReference(_, let rule) = error { reason += ": \(rule)" }
                throw UsageError(command: command, reason: .invalidValue(flag: "--tag", value: text, reason: reason))
            }
            let tagged = reference.withDefaultTag()
            if reference.tag == nil && reference.digest == nil { options.defaultedTags.insert(tagged) }
            options.tags.append(tagged)
        }
        for item in arguments[BuildCommand.buildArg] {
            if let equals = item.firstIndex(of: "=") {
                guard equals != item.startIndex else {
                    throw UsageError(
                        command: command,
                        reason: .invalidValue(flag: "--build-arg", value: item, reason: "the name before = is empty"))
                }
                options.buildArguments[String(item[..<equals])] = String(item[item.index(after: equals)...])
            } else if let value = context.environment[item] {
                // `--build-arg NAME` takes the value from kiln's environment, as Docker does.
                options.buildArguments[item] = value
            }
        }
        if let epoch = options.buildArguments["SOURCE_DATE_EPOCH"] {
            guard let seconds = Int64(epoch), seconds >= 0 else {
                throw UsageError(
                    command: command,
                    reason: .invalidValue(
                        flag: "--build-arg", value: "SOURCE_DATE_EPOCH=\(epoch)", reason: "expected whole seconds since 1970"))
            }
            options.sourceDateEpoch = seconds
        }
        options.target = arguments[BuildCommand.target]
        options.labels.merge(try LabelArguments.parse(arguments[BuildCommand.label], command: command)) { $1 }
        options.noCache = arguments[BuildCommand.noCache]
        options.pull = arguments[BuildCommand.pull]
        for value in arguments[BuildCommand.addHost] {
            do {
                options.extraHosts.append(try HostMapping(parsing: value))
            } catch {
                throw UsageError(command: command, reason: .invalidValue(flag: "--add-host", value: value, reason: error.reason))
            }
        }
        switch arguments[BuildCommand.network] ?? "host" {
        case "host", "default": options.network = .host
        case "none": options.network = .none
        case let other:
            throw UsageError(
                command: command,
                reason: .invalidValue(
                    flag: "--network", value: other, reason: "builds support host and none; RUN steps share no other network"))
        }
        for item in arguments[BuildCommand.secret] {
            let (id, secret) = try parseSecret(item, command: command, context: context)
            options.secrets[id] = secret
        }
        if let text = arguments[BuildCommand.platform] {
            let platform: Platform
            do {
                platform = try Platform(parsing: text)
            } catch {
                throw UsageError(command: command, reason: .invalidValue(flag: "--platform", value: text, reason: "\(error)"))
            }
            guard platform.normalized.os == Platform.host.os,
                platform.normalized.architecture == Platform.host.architecture
            else {
                throw UsageError(
                    command: command,
                    reason: .invalidValue(
                        flag: "--platform", value: text,
                        reason: "kiln builds for this machine's platform (\(Platform.host)) only; it cannot emulate another"))
            }
            options.platform = platform.normalized
        }
        return options
    }

    /// `id=NAME,src=PATH`, `id=NAME,env=VARIABLE`, `type=file|env`, or a bare `NAME` that names
    /// an environment variable, as `docker buildx build --secret` reads them.
    static func parseSecret(_ text: String, command: String, context: CommandContext) throws -> (String, BuildSecret) {
        var id: String?
        var source: String?
        var environment: String?
        var type: String?
        let fields: [String]
        do {
            fields = try CSVRecord.fields(text)
        } catch {
            throw UsageError(
                command: command,
                reason: .invalidValue(flag: "--secret", value: text, reason: "it is not valid comma-separated text: \(error.reason)"))
        }
        for field in fields {
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else {
                if fields.count == 1 && !field.isEmpty {
                    return (field, .environment(field))
                }
                throw UsageError(
                    command: command,
                    reason: .invalidValue(flag: "--secret", value: text, reason: "field \"\(field)\" must be a key=value pair"))
            }
            switch parts[0].lowercased() {
            case "id": id = parts[1]
            case "src", "source": source = parts[1]
            case "env": environment = parts[1]
            case "type": type = parts[1]
            default:
                throw UsageError(
                    command: command,
                    reason: .invalidValue(
                        flag: "--secret", value: text, reason: "unknown key \"\(parts[0])\"; expected id, src, env or type"))
            }
        }
        guard let id, !id.isEmpty else {
            throw UsageError(command: command, reason: .invalidValue(flag: "--secret", value: text, reason: "id is missing"))
        }
        if let source, type != "env" {
            let path = context.absolutePath(source)
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw UsageError(
                    command: command,
                    reason: .invalidValue(flag: "--secret", value: text, reason: "the file \(path) cannot be read"))
            }
            return (id, .file(path))
        }
        return (id, .environment(environment ?? source ?? id))
    }

    static func sourceDateEpoch(_ environment: [String: String]) -> Int64? {
        environment["SOURCE_DATE_EPOCH"].flatMap { Int64($0) }.flatMap { $0 >= 0 ? $0 : nil }
    }
}
