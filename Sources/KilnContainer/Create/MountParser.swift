import Foundation
import KilnDiagnostics
import KilnRuntime
import KilnSystem

/// The mount flags of `kiln run`: `-v`, `--mount` and `--tmpfs`, parsed into mount
/// specifications with Docker's rules.
enum MountParser {
    /// Parses one `-v` value: `HOST:CONTAINER[:OPTIONS]` for a bind mount (HOST absolute or starting with
    /// `.`), `NAME:CONTAINER[:OPTIONS]` for a named volume, or `CONTAINER` alone for an
    /// anonymous volume. OPTIONS are `ro`, `rw`, `nocopy` (a new volume stays empty instead of
    /// getting the image's files) and SELinux or propagation words, which are ignored.
    static func volume(_ value: String, workingDirectory: String) throws -> MountSpecification {
        func invalid(_ reason: String) -> ContainerError {
            ContainerError(.invalidOption(flag: "--volume", value: value, reason: reason))
        }
        let fields = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(fields.count), !fields.contains(where: \.isEmpty) else {
            throw invalid("expected [HOST-DIR:]CONTAINER-DIR[:OPTIONS]")
        }
        if fields.count == 1 {
            let destination = try destinationPath(fields[0], flag: "--volume", value: value)
            return MountSpecification(kind: .volume, source: randomVolumeName(), destination: destination, anonymous: true)
        }

        let destination = try destinationPath(fields[1], flag: "--volume", value: value)
        var readOnly = false
        var noCopy = false
        if fields.count == 3 {
            for option in fields[2].split(separator: ",") {
                switch option {
                case "ro": readOnly = true
                case "rw": readOnly = false
                case "nocopy": noCopy = true
                case "copy": noCopy = false
                case "z", "Z", "shared", "rshared", "slave", "rslave", "private", "rprivate", "consistent",
                    "cached", "delegated":
                    continue
                default: throw invalid("unknown option \"\(option)\"")
                }
            }
        }

        let source = fields[0]
        if source.hasPrefix("/") || source.hasPrefix(".") || source == "~" || source.hasPrefix("~/") {
            let absolute = absoluteHostPath(source, workingDirectory: workingDirectory)
            // `-v` creates a missing host directory, as Docker does; `--mount` does not.
            if !FileManager.default.fileExists(atPath: absolute) {
                do {
                    try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true)
                } catch {
                    // Foundation's own message repeats the whole path, so only its errno is shown.
                    let code = ((error as? CocoaError)?.underlying as? POSIXError)?.code.rawValue
                    let reason = code.map { String(cString: strerror($0)) } ?? "it could not be created"
                    throw invalid("cannot create the host directory \(shortenedForDisplay(absolute)): \(reason)")
                }
            }
            return MountSpecification(kind: .bind, source: absolute, destination: destination, readOnly: readOnly)
        }
        guard isValidVolumeName(source) else {
            throw invalid("\"\(source)\" is not a valid volume name: use [a-zA-Z0-9][a-zA-Z0-9_.-]+ or an absolute host path")
        }
        return MountSpecification(kind: .volume, source: source, destination: destination, readOnly: readOnly, noCopy: noCopy)
    }

    /// Parses one `--mount` value: comma-separated `key=value` fields with `type` (bind, volume, tmpfs),
    /// `source`/`src`, `target`/`destination`/`dst`, `readonly`/`ro`, `volume-nocopy`, `tmpfs-size` and `tmpfs-mode`.
    static func mount(_ value: String, workingDirectory: String) throws -> MountSpecification {
        func invalid(_ reason: String) -> ContainerError {
            ContainerError(.invalidOption(flag: "--mount", value: value, reason: reason))
        }
        var type = "volume"
        var source: String?
        var target: String?
        var readOnly = false
        var noCopy = false
        var options: [String] = []
        let fields: [String]
        do {
            fields = try CSVRecord.fields(value)
        } catch {
            throw invalid("it is not valid comma-separated text: \(error.reason)")
        }
        // Empty fields (`type=tmpfs,,target=/t,`) are skipped, where Docker's CLI rejects them.
        for field in fields where !field.isEmpty {
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let key = parts[0].lowercased()
            let setting = parts.count > 1 ? parts[1] : nil
            guard !key.isEmpty else { throw invalid("field \"\(field)\" has no key; write key=value, such as target=/data") }
            switch key {
            case "type": type = setting ?? ""
            case "source", "src": source = setting
            case "target", "destination", "dst": target = setting
            case "readonly", "ro", "volume-nocopy":
                guard let flag = setting.map({ ["1", "true"].contains($0.lowercased()) ? true : ["0", "false"].contains($0.lowercased()) ? false : nil }) ?? true
                else { throw invalid("invalid value for \(key): \(setting ?? "")") }
                if key == "volume-nocopy" { noCopy = flag } else { readOnly = flag }
            case "tmpfs-size": options.append("size=\(setting ?? "")")
            case "tmpfs-mode": options.append("mode=\(setting ?? "")")
            case "bind-propagation", "consistency", "bind-nonrecursive": continue
            default: throw invalid("unexpected key '\(key)'")
            }
        }
        guard let target else { throw invalid("target is required") }
        let destination = try destinationPath(target, flag: "--mount", value: value)
        switch type {
        case "bind":
            guard let source else { throw invalid("source is required when type is bind") }
            let absolute = absoluteHostPath(source, workingDirectory: workingDirectory)
            guard FileManager.default.fileExists(atPath: absolute) else { throw invalid("bind source path does not exist: \(shortenedForDisplay(absolute))") }
            return MountSpecification(kind: .bind, source: absolute, destination: destination, readOnly: readOnly)
        case "volume":
            if let source {
                guard isValidVolumeName(source) else { throw invalid("\"\(source)\" is not a valid volume name") }
                return MountSpecification(kind: .volume, source: source, destination: destination, readOnly: readOnly, noCopy: noCopy)
            }
            return MountSpecification(
                kind: .volume, source: randomVolumeName(), destination: destination, readOnly: readOnly, anonymous: true, noCopy: noCopy)
        case "tmpfs":
            guard source == nil else { throw invalid("source is not allowed when type is tmpfs") }
            if let reason = tmpfsOptionProblem(options) { throw invalid(reason) }
            return MountSpecification(kind: .tmpfs, source: "tmpfs", destination: destination, readOnly: readOnly, options: options)
        default:
            throw invalid("unknown mount type \"\(type)\": expected bind, volume or tmpfs")
        }
    }

    /// Parses one `--tmpfs` value: `PATH[:OPTIONS]`, options comma-separated (`size=64m,mode=1777`).
    static func tmpfs(_ value: String) throws -> MountSpecification {
        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
        guard let path = parts.first else {
            throw ContainerError(.invalidOption(flag: "--tmpfs", value: value, reason: "expected PATH[:OPTIONS]"))
        }
        let destination = try destinationPath(path, flag: "--tmpfs", value: value)
        let options = parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : []
        if let reason = tmpfsOptionProblem(options) {
            throw ContainerError(.invalidOption(flag: "--tmpfs", value: value, reason: reason))
        }
        return MountSpecification(kind: .tmpfs, source: "tmpfs", destination: destination, options: options)
    }

    /// The mount flags a tmpfs option list may contain besides `mode=`, `size=`, `nr_inodes=`,
    /// `uid=` and `gid=`, as mount(8) names them.
    static let tmpfsFlags: Set<String> = [
        "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async", "dirsync", "atime", "noatime",
        "diratime", "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime", "mand", "nomand",
        "private", "rprivate", "shared", "rshared", "slave", "rslave",
    ]

    /// Describes the first tmpfs option that the kernel would reject at start, or returns nil.
    /// Checked here so that the error names the flag, instead of runc's `invalid argument`.
    static func tmpfsOptionProblem(_ options: [String]) -> String? {
        for option in options {
            let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                if tmpfsFlags.contains(option) { continue }
                return "unknown tmpfs option \"\(option)\": use mode=, size=, nr_inodes=, uid=, gid= or a mount flag such as noexec"
            }
            let (key, value) = (parts[0], parts[1])
            switch key {
            case "mode":
                guard let mode = UInt32(value, radix: 8), mode <= 0o7777 else {
                    return "invalid tmpfs mode \"\(value)\": use octal digits up to 7777, such as 1777 or 700"
                }
            case "size", "nr_inodes":
                guard isTmpfsSize(value, allowsPercent: key == "size") else {
                    return "invalid tmpfs \(key) \"\(value)\": use a number with an optional k, m or g suffix, such as 64m"
                }
            case "uid", "gid":
                guard UInt32(value) != nil else { return "invalid tmpfs \(key) \"\(value)\": use a number" }
            default:
                return "unknown tmpfs option \"\(key)\": use mode=, size=, nr_inodes=, uid=, gid= or a mount flag such as noexec"
            }
        }
        return nil
    }

    /// Returns whether `value` is a tmpfs size: digits with an optional k, m, g (any case) or,
    /// for `size`, a % of memory.
    private static func isTmpfsSize(_ value: String, allowsPercent: Bool) -> Bool {
        var digits = Substring(value)
        if let last = digits.last, "kKmMgG".contains(last) || (allowsPercent && last == "%") {
            digits = digits.dropLast()
        }
        return UInt64(digits) != nil
    }

    static func destinationPath(_ path: String, flag: String, value: String) throws -> String {
        guard path.hasPrefix("/") else {
            throw ContainerError(.invalidOption(flag: flag, value: value, reason: "the container path \"\(path)\" must be absolute"))
        }
        let clean = try ContainerPath.normalize(path, field: "mount destination")
        guard clean != "/" else {
            throw ContainerError(.invalidOption(flag: flag, value: value, reason: "the destination cannot be \"/\""))
        }
        return clean
    }

    static func absoluteHostPath(_ path: String, workingDirectory: String) -> String {
        var expanded = path
        if path == "~" || path.hasPrefix("~/") {
            expanded = NSHomeDirectory() + path.dropFirst()
        } else if !path.hasPrefix("/") {
            expanded = workingDirectory + "/" + path
        }
        return URL(fileURLWithPath: expanded).standardizedFileURL.path
    }

    static func isValidVolumeName(_ name: String) -> Bool {
        NameGenerator.isValid(name)
    }

    /// 64 hex digits, the name Docker gives an anonymous volume.
    static func randomVolumeName() -> String {
        ContainerIdentifier.random()
    }
}

/// Random 64-hex identifiers for containers and anonymous volumes.
public enum ContainerIdentifier {
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let text = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }.joined()
    }
}
