import Foundation
import KilnDiagnostics
import KilnDockerfile

/// Reads the Dockerfile that `kiln parse` and `kiln lint` work on: `-f FILE`, `-f -` for standard
/// input, or by default `Dockerfile`, then `Containerfile`, in the working directory.
enum DockerfileInput {
    static let fileFlag = ValueFlag(
        "file", short: "f", placeholder: "string",
        help: "Name of the Dockerfile, or - for standard input", default: "\"Dockerfile\", then \"Containerfile\"")

    /// Reads the Dockerfile and returns its bytes and the name used in locations: the path as
    /// given, or `Dockerfile` for standard input. Without `-f`, the default names are looked up
    /// in `directory` (the working directory when nil), which `displayDirectory` names in
    /// locations.
    static func read(
        _ arguments: ParsedArguments, context: CommandContext, directory: String? = nil, displayDirectory: String? = nil
    ) throws -> (bytes: [UInt8], name: String) {
        if let path = arguments[fileFlag] {
            if path == "-" {
                return (try InputFile.readStandardInput(context), "Dockerfile")
            }
            if path.lowercased().hasSuffix(".lua") {
                throw GeneralError(
                    "\(path) is a Lua build script, and \(arguments.commandName) reads Dockerfiles only",
                    hint: "`kiln build -f \(path)` runs the script and reports its errors with file and line")
            }
            return (try InputFile.readDockerfile(context.absolutePath(path), displayPath: context.absolutePath(path)), path)
        }
        let folder = directory ?? context.workingDirectory
        for name in ["Dockerfile", "Containerfile"] {
            let path = folder + "/" + name
            if FileManager.default.fileExists(atPath: path) {
                // A file found by its default name in a cloned repository may be a link to
                // `~/.ssh/id_rsa`. Its first line would show in a syntax error, so it is rejected.
                try BuildInputs.checkInside(path, context: folder)
                return (try InputFile.readDockerfile(path, displayPath: path), displayDirectory.map { ($0.hasSuffix("/") ? $0 : $0 + "/") + name } ?? name)
            }
        }
        throw GeneralError(
            "no Dockerfile or Containerfile in \(folder)",
            hint: "name the file with -f PATH, or -f - to read standard input")
    }
}
