import KilnDiagnostics
import KilnImage
import KilnSystem

/// The one error type of the build engine: what failed, as data, and the step where it failed.
///
/// A step's errors name the Dockerfile line and the instruction, so the user reads
/// `Dockerfile:7: RUN pip install -r requirements.txt: exit status 1` with the source excerpt.
/// Errors of other modules (a missing user, a bad layer) are wrapped with the step's location.
public struct BuildError: KilnError {
    public enum Reason: Sendable {
        /// The base image is not in the store and cannot be pulled; `pullFailure` explains why the
        /// pull failed, when one was tried.
        case baseImageNotFound(String, pullFailure: String?, hint: String)
        /// `--pull` failed to pull a base image again that the store has; `pullFailure` is the
        /// reason.
        case basePullFailed(String, pullFailure: String)
        /// `--target` names no stage. `inScript` is true for a Lua build script, whose stages are
        /// named with `kiln.stage`.
        case unknownTarget(String, suggestion: String?, inScript: Bool)
        /// `--from` or `from=` names neither a stage nor a usable image; `pullFailure` explains why
        /// pulling it as an image failed.
        case unknownStage(String, suggestion: String?, pullFailure: String?)
        /// `--from`, `from=` or FROM is a decimal number that is no stage index of the build.
        /// `instruction` is the keyword or flag that contains it.
        case stageIndexOutOfRange(String, instruction: String, stageCount: Int)
        /// FROM names its base through build arguments that expand to nothing; the base as written.
        case blankBaseName(String)
        /// A stage depends on itself, directly or through other stages; the names in order.
        case stageCycle([String])
        /// A RUN command exited with a non-zero status; `output` contains its last lines.
        case commandFailed(status: Int32, output: [String])
        /// A RUN command was killed by a signal.
        case commandKilled(signal: Int32, output: [String])
        /// A COPY or ADD source does not exist in the build context (or is excluded by
        /// .dockerignore, or leads out of the context through `..` or a link).
        case sourceNotFound(String, origin: String)
        /// Resolving a COPY or ADD source followed symbolic links in a loop.
        case sourceLinkLoop(String, origin: String)
        /// A wildcard matched nothing.
        case noSourceFiles(String)
        /// Several sources and a destination without a trailing slash.
        case destinationNotDirectory(String)
        /// `FROM --platform` names a platform other than the host's. `expanded` is the value after
        /// build arguments are expanded, and `host` is the platform kiln builds for.
        case foreignPlatform(written: String, expanded: String, host: String)
        /// Something kiln parses but does not support, with the reason.
        case unsupported(String)
        /// A value that the step cannot use.
        case invalidValue(String)
        /// `--secret` was not given for a mount that requires it, or its source is missing.
        case secretNotFound(String)
        /// The file of a `--secret` is larger than `limit` bytes.
        case secretTooLarge(id: String, path: String, limit: Int)
        /// The image config is `size` bytes, more than the `limit` that the store reads back.
        /// `stepBytes` is what the located step's history text adds to it.
        case configTooLarge(size: Int, limit: Int, stepBytes: Int?)
        /// ADD --checksum did not match.
        case checksumMismatch(url: String, expected: String, actual: String)
        /// The build was interrupted (Ctrl-C).
        case cancelled
        /// The stage's base and its layer-adding instructions (`added`, per keyword) could make
        /// more layers than one overlay mount stacks.
        case tooManyLayers(baseLayers: Int, added: [(keyword: String, count: Int)], maximum: Int)
        /// An error from another module, in its own words.
        case underlying(Diagnostic, exitStatus: Int32)
    }

    public var reason: Reason
    /// The step's instruction as written (`RUN pip install -r requirements.txt`).
    public var instruction: String?
    public var range: SourceRange?
    public var excerpt: [String]

    public init(_ reason: Reason, instruction: String? = nil, range: SourceRange? = nil, excerpt: [String] = []) {
        self.reason = reason
        self.instruction = instruction
        self.range = range
        self.excerpt = excerpt
    }

    /// Wraps any error of a step with the step's location; build errors keep their own reason.
    static func wrap(_ error: Error, instruction: String?, range: SourceRange?, excerpt: [String]) -> BuildError {
        if var built = error as? BuildError {
            if built.range == nil {
                built.range = range
                built.excerpt = excerpt
                built.instruction = built.instruction ?? instruction
            }
            return built
        }
        if error is CancellationError {
            return BuildError(.cancelled, instruction: instruction, range: range, excerpt: excerpt)
        }
        if let kilnError = error as? KilnError {
            var diagnostic = kilnError.diagnostic
            // A Dockerfile error located already (an expansion failure) needs no second location.
            if diagnostic.range != nil {
                return BuildError(.underlying(diagnostic, exitStatus: kilnError.exitStatus))
            }
            diagnostic.range = nil
            return BuildError(
                .underlying(diagnostic, exitStatus: kilnError.exitStatus), instruction: instruction, range: range,
                excerpt: excerpt)
        }
        return BuildError(
            .underlying(.error("\(error)"), exitStatus: ExitStatus.failure), instruction: instruction, range: range,
            excerpt: excerpt)
    }

    public var exitStatus: Int32 {
        switch reason {
        case .underlying(_, let status): status
        case .cancelled: 130
        default: ExitStatus.failure
        }
    }

    public var diagnostic: Diagnostic {
        var (message, hint) = words
        if let instruction { message = "\(Self.shortened(instruction)): \(message)" }
        if case .underlying(let inner, _) = reason, inner.range != nil, instruction == nil {
            return inner
        }
        return Diagnostic(severity: .error, message: message, range: range, excerpt: excerpt, hint: hint)
    }

    /// The failure in one line, without the instruction or output, for progress output.
    public var summary: String {
        String(words.0.split(separator: "\n", maxSplits: 1).first ?? "")
    }

    /// An instruction of at most 120 characters, on one line, for the message: line breaks
    /// become one space. It reads only the first 121 characters that it keeps, because an
    /// instruction can be megabytes long.
    static func shortened(_ text: String) -> String {
        var flat = ""
        var count = 0
        var breaksLine = false
        for character in text {
            if character.isNewline {
                breaksLine = count > 0
                continue
            }
            if breaksLine {
                flat.append(" ")
                count += 1
                breaksLine = false
            }
            flat.append(character)
            count += 1
            if count > 120 { return String(flat.prefix(117)) + "..." }
        }
        return flat
    }

    private var words: (String, String?) {
        switch reason {
        case .baseImageNotFound(let name, let pullFailure, let hint):
            guard let pullFailure else { return ("base image \(name) not found in the store", hint) }
            return ("base image \(name) not found in the store, and pulling it failed: \(pullFailure)", hint)
        case .basePullFailed(let name, let pullFailure):
            return (
                "--pull: pulling base image \(name) failed: \(pullFailure)",
                "check the registry and your credentials, or build without --pull to use the copy of \(name) in the store")
        case .unknownTarget(let name, let suggestion, let inScript):
            let declaration = inScript ? "kiln.stage(BASE, { as = NAME })" : "FROM ... AS NAME"
            return (
                "target stage \"\(name)\" could not be found",
                suggestion.map { "did you mean \"\($0)\"?" } ?? "name a stage declared with \(declaration)")
        case .unknownStage(let name, let suggestion, let pullFailure):
            return (
                "\"\(name)\" is neither a stage of this build nor an image in the store"
                    + (pullFailure.map { ", and pulling it failed: \($0)" } ?? ""),
                suggestion.map { "did you mean \"\($0)\"?" } ?? "name an earlier stage, or pull or load the image first")
        case .stageIndexOutOfRange(let text, let instruction, let count):
            let stages = count == 1 ? "1 stage (index 0)" : "\(count) stages (indexes 0 to \(count - 1))"
            if instruction == "FROM" {
                return (
                    "the base \(text) is a number, and FROM takes an image or a stage name, not a stage index "
                        + "(the Dockerfile has \(stages))",
                    "name the stage with FROM IMAGE AS NAME and write FROM NAME, or write \(text):latest for an image named \(text)")
            }
            return (
                "stage index \(text) does not exist, because the Dockerfile has \(stages)",
                "stages are numbered from 0; write \(instruction)\(text):latest to read from an image named \(text)")
        case .blankBaseName(let written):
            return (
                "base name (\(written)) should not be blank",
                "give the build argument a value with --build-arg or a default in its ARG before the first FROM")
        case .stageCycle(let names):
            return (
                "stage \"\(names.first ?? "")\" depends on itself: \(names.joined(separator: " -> "))",
                "a stage can use only other stages' results")
        case .commandFailed(let status, let output):
            return (Self.withOutput("exit status \(status)", output), nil)
        case .commandKilled(let signal, let output):
            return (Self.withOutput("killed by signal \(signal)", output), nil)
        case .sourceNotFound(let path, let origin):
            return (
                "source \(path) not found in \(origin)",
                origin == "build context"
                    ? "check the path, .dockerignore, and that links inside the context stay inside it" : nil)
        case .sourceLinkLoop(let path, let origin):
            return (
                "source \(path) in \(origin) is a symbolic link loop (more than \(RootDirectory.maximumSymbolicLinks) links followed)",
                "fix or remove the symbolic links on that path")
        case .noSourceFiles(let pattern):
            return ("no source files were specified: \(pattern) matches nothing", "check the pattern and .dockerignore")
        case .destinationNotDirectory(let destination):
            return (
                "when copying more than one source, the destination must be a directory and end with a /, got \"\(destination)\"",
                "add a trailing slash: \(destination)/")
        case .foreignPlatform(let written, let expanded, let host):
            let named = written == expanded ? expanded : "\(expanded) (from \(written))"
            return (
                "cannot build for \(named), because kiln builds for \(host) only and emulates no other platform",
                "remove --platform, or write --platform=$BUILDPLATFORM. To build for \(expanded), run kiln on a \(expanded) machine")
        case .unsupported(let what):
            return ("\(what) is not supported", nil)
        case .invalidValue(let what):
            return (what, nil)
        case .secretNotFound(let id):
            return ("secret \"\(id)\" not found", "pass it with --secret id=\(id),src=FILE or --secret id=\(id),env=VARIABLE")
        case .secretTooLarge(let id, let path, let limit):
            return (
                "secret \"\(id)\": \(path) is larger than \(limit / 1024) KiB, the limit for a secret",
                "pass a smaller file. For a large file, add it to the build context and use RUN --mount=type=bind")
        case .checksumMismatch(let url, let expected, let actual):
            return ("checksum of \(url) does not match: expected \(expected), got \(actual)", nil)
        case .configTooLarge(let size, let limit, let stepBytes):
            let part = stepBytes.map { ", and this instruction adds \($0) bytes to it" } ?? ""
            return (
                "the image config would be \(size) bytes, more than the limit of \(limit) bytes (\(limit >> 20) MiB) for an image config\(part)",
                "keep large data out of LABEL, ENV and RUN lines: COPY it into the image as a file")
        case .cancelled:
            return ("build cancelled", nil)
        case .tooManyLayers(let baseLayers, let added, let maximum):
            return Self.tooManyLayersWords(baseLayers: baseLayers, added: added, maximum: maximum)
        case .underlying(let inner, _):
            return (inner.message, inner.hint)
        }
    }

    private static func withOutput(_ status: String, _ output: [String]) -> String {
        guard !output.isEmpty else { return status }
        return status + "\n" + output.map { "    " + $0 }.joined(separator: "\n")
    }
}

extension BuildError {
    /// Composes the message and hint of `tooManyLayers`. The hint blames the base image when it
    /// alone leaves no room, and otherwise names the instructions to merge, the most frequent first.
    static func tooManyLayersWords(
        baseLayers: Int, added: [(keyword: String, count: Int)], maximum: Int
    ) -> (String, String?) {
        let addedCount = added.reduce(0) { $0 + $1.count }
        let limit = "more than the \(maximum) that kiln can stack in one overlay mount (the kernel's overlayfs limit)"
        if baseLayers >= maximum {
            return (
                "this stage could have \(baseLayers + addedCount) layers, \(baseLayers) of them from its base image, \(limit)",
                "use a base image with fewer layers: rebuild it with its RUN instructions merged, or build on a "
                    + "flattened copy of its root filesystem made with `kiln import`")
        }
        let frequentFirst = added.sorted { $0.count > $1.count }
        let parts = frequentFirst.map { "\($0.count) \($0.keyword)" }
        let advice = frequentFirst.map { keyword, _ in
            switch keyword {
            case "RUN": "join RUN commands with &&"
            case "WORKDIR": "set WORKDIR once, to the final directory, after creating the others in one RUN mkdir -p"
            default: "list several sources in one \(keyword) or copy their directory"
            }
        }
        return (
            "this stage could have \(baseLayers + addedCount) layers, \(baseLayers) from its base image and "
                + "\(addedCount) from instructions that each add one (\(parts.joined(separator: ", "))), \(limit)",
            "merge instructions: " + ListFormatting.joined(advice))
    }
}

/// Joins phrases as English lists them: `a`, `a and b`, `a, b and c`.
enum ListFormatting {
    static func joined(_ phrases: [String]) -> String {
        guard phrases.count > 1 else { return phrases.first ?? "" }
        return phrases.dropLast().joined(separator: ", ") + " and " + phrases[phrases.count - 1]
    }
}
