import Foundation
import KilnDockerfile

/// The readable form of `kiln parse`: one block per instruction, the line numbers in a column,
/// and what kiln decoded from it.
///
///     Dockerfile: 3 instructions, 1 stage
///       1    FROM busybox:1.36 AS base
///       2-4  RUN shell: make && make install
///              mount: type=cache target=/root/.cache
struct ParseListing {
    let dockerfile: Dockerfile

    init(_ dockerfile: Dockerfile) {
        self.dockerfile = dockerfile
    }

    var text: String {
        let instructions = dockerfile.instructions
        let stageCount = dockerfile.stages.count
        var lines: [String] = []
        var header = "\(dockerfile.file): \(instructions.count) \(instructions.count == 1 ? "instruction" : "instructions"), "
        header += "\(stageCount) \(stageCount == 1 ? "stage" : "stages")"
        var directives: [String] = []
        if let syntax = dockerfile.directives.syntax { directives.append("syntax \(syntax.value)") }
        if let escape = dockerfile.directives.escape { directives.append("escape \(escape.value)") }
        if let check = dockerfile.directives.check { directives.append("check \(check.value)") }
        if !directives.isEmpty { header += " (" + directives.joined(separator: ", ") + ")" }
        lines.append(header)

        let width = instructions.map { lineLabel($0).count }.max() ?? 1
        for instruction in instructions {
            let label = lineLabel(instruction)
            let padding = String(repeating: " ", count: width - label.count)
            let (summary, details) = describe(instruction)
            lines.append("  \(label)\(padding)  \(instruction.keyword.rawValue) \(summary)")
            let indent = String(repeating: " ", count: width + 4)
            for detail in details {
                lines.append(indent + detail)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func lineLabel(_ instruction: Instruction) -> String {
        instruction.range.endLine == instruction.range.line
            ? "\(instruction.range.line)" : "\(instruction.range.line)-\(instruction.range.endLine)"
    }

    private func describe(_ instruction: Instruction) -> (String, [String]) {
        var details = instruction.heredocs.map { heredoc in
            let lineCount = heredoc.content.split(separator: "\n", omittingEmptySubsequences: false).count - 1
            return "heredoc \(heredoc.name): \(lineCount) \(lineCount == 1 ? "line" : "lines")"
                + (heredoc.expandsVariables ? "" : ", not expanded")
        }
        switch instruction.body {
        case .from(let from):
            var summary = from.image
            if let name = from.stageName { summary += " AS \(name)" }
            if let platform = from.platform { summary += "  --platform=\(platform)" }
            return (summary, details)
        case .run(let run):
            for flag in run.mounts {
                details.append("mount: " + (flag.mount.map(Self.describe) ?? "\(flag.text) (expanded per step)"))
            }
            if let network = run.network { details.append("network: \(network.rawValue)") }
            if let security = run.security { details.append("security: \(security.rawValue)") }
            return (Self.describe(run.command), details)
        case .cmd(let cmd):
            return (Self.describe(cmd.command), details)
        case .entrypoint(let entrypoint):
            return (Self.describe(entrypoint.command), details)
        case .shell(let shell):
            return (Self.json(shell.shell), details)
        case .healthcheck(let healthcheck):
            var options: [String] = []
            if let interval = healthcheck.interval { options.append("interval \(interval)") }
            if let timeout = healthcheck.timeout { options.append("timeout \(timeout)") }
            if let startPeriod = healthcheck.startPeriod { options.append("start-period \(startPeriod)") }
            if let startInterval = healthcheck.startInterval { options.append("start-interval \(startInterval)") }
            if let retries = healthcheck.retries { options.append("retries \(retries)") }
            if !options.isEmpty { details.append(options.joined(separator: ", ")) }
            switch healthcheck.test {
            case .none: return ("NONE", details)
            case .command(let command): return ("CMD " + Self.describe(command), details)
            }
        case .env(let env):
            return (env.pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " "), details)
        case .label(let label):
            return (label.pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " "), details)
        case .arg(let arg):
            return (arg.declarations.map { $0.name + ($0.defaultValue.map { "=" + $0 } ?? "") }.joined(separator: " "), details)
        case .expose(let expose):
            return (expose.exposedPorts.map { $0.map(\.configKey) }?.joined(separator: " ") ?? expose.ports.joined(separator: " "), details)
        case .copy(let copy):
            var flags: [String] = []
            if let from = copy.from { flags.append("--from=\(from)") }
            if let chown = copy.chown { flags.append("--chown=\(chown)") }
            if let chmod = copy.chmod { flags.append("--chmod=\(chmod)") }
            if copy.link { flags.append("--link") }
            if copy.parents { flags.append("--parents") }
            flags += copy.excludes.map { "--exclude=\($0)" }
            return (Self.transfer(flags, copy.sources, copy.destination), details)
        case .add(let add):
            var flags: [String] = []
            if let chown = add.chown { flags.append("--chown=\(chown)") }
            if let chmod = add.chmod { flags.append("--chmod=\(chmod)") }
            if add.link { flags.append("--link") }
            if let checksum = add.checksum { flags.append("--checksum=\(checksum)") }
            if add.keepGitDir { flags.append("--keep-git-dir") }
            if let unpack = add.unpack { flags.append("--unpack=\(unpack)") }
            flags += add.excludes.map { "--exclude=\($0)" }
            return (Self.transfer(flags, add.sources, add.destination), details)
        case .volume(let volume):
            return (volume.paths.joined(separator: " "), details)
        case .user(let user):
            return (user.user, details)
        case .workdir(let workdir):
            return (workdir.path, details)
        case .stopSignal(let stopSignal):
            return (stopSignal.signal, details)
        case .maintainer(let maintainer):
            return (maintainer.name, details)
        case .onbuild(let onbuild):
            guard let trigger = onbuild.trigger else { return (onbuild.expression + "  (invalid trigger)", details) }
            let (summary, triggerDetails) = describe(trigger)
            return ("\(trigger.keyword.rawValue) \(summary)", details + triggerDetails)
        }
    }

    private static func transfer(_ flags: [String], _ sources: [CopySource], _ destination: String) -> String {
        let names = sources.map { source in
            switch source {
            case .path(let path): path
            case .heredoc(let heredoc): "<<\(heredoc.name)"
            }
        }
        return (flags + [names.joined(separator: " "), "->", destination]).joined(separator: " ")
    }

    private static func describe(_ command: CommandForm) -> String {
        switch command {
        case .shell(let text): "shell: \(text)"
        case .exec(let arguments): "exec: \(json(arguments))"
        }
    }

    private static func describe(_ mount: RunMount) -> String {
        var parts = ["type=\(mount.type.rawValue)"]
        if let target = mount.target { parts.append("target=\(target)") }
        if let source = mount.source { parts.append("source=\(source)") }
        if let from = mount.from { parts.append("from=\(from)") }
        if let id = mount.id { parts.append("id=\(id)") }
        if let sharing = mount.sharing { parts.append("sharing=\(sharing.rawValue)") }
        if let mode = mount.mode { parts.append("mode=0\(String(mode, radix: 8))") }
        if let uid = mount.uid { parts.append("uid=\(uid)") }
        if let gid = mount.gid { parts.append("gid=\(gid)") }
        if let size = mount.size { parts.append("size=\(size)") }
        if let env = mount.env { parts.append("env=\(env)") }
        if mount.required { parts.append("required") }
        parts.append(mount.readOnly ? "ro" : "rw")
        return parts.joined(separator: " ")
    }

    private static func json(_ strings: [String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? encoder.encode(strings) else { return "\(strings)" }
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\",\"", with: "\", \"")
    }
}
