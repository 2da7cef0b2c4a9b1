import KilnDiagnostics

/// Every error of the Lua bridge and the plugin system: what failed, in which plugin, at which
/// Lua line. Callers decide by `kind`; `diagnostic` turns the data into words.
public struct LuaError: KilnError, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A chunk did not compile.
        case syntax
        /// The plugin raised an error, or a Lua operation failed at run time.
        case runtime
        /// A call executed more VM instructions than its budget.
        case instructionBudget(Int64)
        /// A call took longer than its wall-clock limit.
        case wallClock(Duration)
        /// The VM allocated more than its cap.
        case memory(Int)
        /// A chunk was precompiled bytecode, which the VM cannot check.
        case binaryChunk
        /// The plugin declaration (`kiln.plugin { ... }`) or the configuration is malformed.
        case invalidDeclaration
        /// The plugin declares an API version that this kiln does not provide.
        case unsupportedAPIVersion(Int64)
        /// A hook or chunk returned a value kiln cannot use (wrong type, too large, cyclic).
        case invalidResult
        /// Two enabled plugins define the same instruction.
        case duplicateInstruction(String)
        /// A plugin used a capability it did not declare, or that was not granted.
        case capability(String)
        /// A plugin named on the command line or in the configuration was not found.
        case notFound
        /// A plugin's content differs from its digest in `.kiln/plugins.lock`, or it is not locked.
        case lockMismatch
        /// A plugin or configuration file could not be read.
        case io
        /// The VM was stopped earlier and cannot run anything more.
        case stopped
    }

    public var kind: Kind
    /// The plugin's name, or its file name before the declaration is read.
    public var plugin: String
    /// The Lua file and line the error points to, when known.
    public var location: SourceLocation?
    /// The specifics, without the position prefix Lua adds.
    public var message: String
    /// Lua's stack traceback, for `--debug` output.
    public var traceback: String?
    public var hint: String?
    /// Whether the failing file is a configuration file rather than a plugin.
    public var isConfiguration = false
    /// The text of the Lua line at `location`, for the error's excerpt.
    public var sourceLine: String?
    /// Whether the failing file is a Lua build script (`kiln build -f build.lua`), which
    /// messages call a build script rather than a plugin.
    public var isBuildScript = false

    public init(
        _ kind: Kind,
        plugin: String,
        location: SourceLocation? = nil,
        message: String = "",
        traceback: String? = nil,
        hint: String? = nil
    ) {
        self.kind = kind
        self.plugin = plugin
        self.location = location
        self.message = message
        self.traceback = traceback
        self.hint = hint
    }

    /// The maximum bytes of `message`, of the hint and of the source line that errors show. A
    /// plugin chooses its `error()` value, its name and its lines, and a 10 MB value printed whole
    /// would flood the terminal.
    public static let maximumMessageBytes = 4096
    /// The maximum lines of `message` that errors show.
    public static let maximumMessageLines = 40
    /// The maximum bytes of the plugin's name in a message.
    public static let maximumNameBytes = 256

    public var diagnostic: Diagnostic {
        let range = location.map { SourceRange(start: SourceLocation(file: $0.file, line: $0.line)) }
        let shownHint = (hint ?? defaultHint).map { Self.capped($0, bytes: Self.maximumMessageBytes) }
        var diagnostic = Diagnostic.error(sentence, at: range, hint: shownHint)
        if let sourceLine, range != nil {
            diagnostic.excerpt = [Self.capped(sourceLine, bytes: Self.maximumMessageBytes, lines: 1)]
        }
        return diagnostic
    }

    /// The message without location, naming the plugin, with the message and the name capped.
    public var sentence: String {
        let plugin = Self.capped(plugin, bytes: Self.maximumNameBytes, lines: 1)
        let message = Self.capped(message, bytes: Self.maximumMessageBytes, lines: Self.maximumMessageLines)
        if isConfiguration {
            switch kind {
            case .instructionBudget, .wallClock, .memory, .binaryChunk, .stopped:
                break
            default:
                // The location already names the file.
                return location?.file == self.plugin ? message : "\(plugin): \(message)"
            }
        }
        let subject = isBuildScript ? "build script \(plugin)" : "plugin \(plugin)"
        switch kind {
        case .instructionBudget(let instructions):
            return "\(subject) exceeded its CPU budget (\(instructions) instructions per call)"
        case .wallClock(let limit):
            return "\(subject) exceeded its CPU budget (\(Self.seconds(limit)) of wall-clock time per call)"
        case .memory(let bytes):
            return "\(subject) exceeded its memory limit (\(Self.mebibytes(bytes)))"
        case .binaryChunk:
            return "\(subject): binary chunks are not allowed\(message.isEmpty ? "" : " (\(message))")"
        case .stopped:
            return "\(subject) was stopped by an earlier error and cannot run again"
        default:
            return "\(subject): \(message)"
        }
    }

    private var defaultHint: String? {
        switch kind {
        case .instructionBudget, .wallClock:
            "look for an endless loop, or a string pattern that backtracks, near this line"
        case .memory:
            "look for a table or string that grows without bound near this line"
        case .binaryChunk:
            "ship the plugin as Lua source"
        default:
            nil
        }
    }

    /// Cuts `text` to at most `limit` UTF-8 bytes and `lines` lines, at a character boundary,
    /// and appends how many bytes were cut.
    public static func capped(_ text: String, bytes limit: Int, lines: Int = .max) -> String {
        var keptScalars = String.UnicodeScalarView()
        var keptBytes = 0
        var lineCount = 1
        var fits = true
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                if lineCount == lines {
                    fits = false
                    break
                }
                lineCount += 1
            }
            let size = UTF8.width(scalar)
            if keptBytes + size > limit {
                fits = false
                break
            }
            keptScalars.append(scalar)
            keptBytes += size
        }
        if fits { return text }
        let cut = text.utf8.count - keptBytes
        return String(keptScalars) + " [\(cut) more bytes cut]"
    }

    static func mebibytes(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds) s" }
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return "\(milliseconds) ms"
    }
}
