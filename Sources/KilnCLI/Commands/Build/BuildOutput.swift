import Foundation
import KilnBuild
import KilnDiagnostics
import KilnSnapshot
import KilnStore
import KilnSystem

/// One `--output` of `kiln build`: where the result goes besides the store.
struct BuildOutput {
    enum Kind: String {
        /// An OCI image layout tar.
        case oci
        /// A `docker save` tar.
        case docker
        /// The image's filesystem as a tar.
        case tar
        /// The image's filesystem copied into a directory.
        case local
        /// The store only (the default).
        case image
    }

    var kind: Kind
    /// The file or directory; `-` is standard output for the tar kinds.
    var destination: String?

    /// Parses `type=local,dest=out` or a bare path (`-o out` is local, `-o -` a tar on standard
    /// output) as buildx reads them. The value is one CSV record, and it is a bare path only when
    /// it is a single field that does not start with `type=`. So `-o a,b` is two fields without
    /// `=` and invalid, and a path with a comma is written `type=local,"dest=a,b"`.
    init(parsing text: String, context: CommandContext, command: String) throws {
        func invalid(_ reason: String) -> UsageError {
            UsageError(command: command, reason: .invalidValue(flag: "--output", value: text, reason: reason))
        }
        let fields: [String]
        do {
            fields = try CSVRecord.fields(text)
        } catch {
            throw invalid("it is not valid comma-separated text: \(error.reason)")
        }

        var type: String?
        var destination: String?
        if fields == [text] && !text.hasPrefix("type=") {
            type = text == "-" ? "tar" : "local"
            destination = text
        } else {
            for field in fields {
                let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2 else {
                    throw invalid(
                        "field \"\(field)\" is not key=value; write type=TYPE,dest=PATH, and quote a path with a comma as in type=local,\"dest=a,b\"")
                }
                let key = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
                switch key {
                case "type": type = parts[1]
                case "dest": destination = parts[1]
                default: throw invalid("unsupported key \"\(key)\"; expected type and dest")
                }
            }
        }
        guard let type else { throw invalid("type is required, as in type=local,dest=DIR") }
        guard let kind = Kind(rawValue: type) else {
            throw invalid("unknown type \"\(type)\"; expected oci, docker, tar, local or image")
        }
        if kind != .image && destination == nil {
            throw UsageError(command: command, reason: .invalidValue(flag: "--output", value: text, reason: "dest is missing"))
        }
        // An empty path would resolve to the current directory, and type=local would copy the
        // image's files over whatever is there.
        if kind != .image && destination == "" {
            throw UsageError(
                command: command,
                reason: .invalidValue(flag: "--output", value: text, reason: "the destination is empty; name a file or directory"))
        }
        // buildx hands `-` to BuildKit as a directory named `-`, which is hardly ever what was meant.
        if kind == .local && destination == "-" {
            throw UsageError(
                command: command,
                reason: .invalidValue(
                    flag: "--output", value: text,
                    reason:
                        "type=local copies the filesystem into a directory and cannot write to standard output; use -o - (or type=tar,dest=-) for a tar stream, or type=local,dest=./- for a directory named -"
                ))
        }
        self.kind = kind
        self.destination = destination.map { $0 == "-" ? $0 : context.absolutePath($0) }
    }

    /// Whether this output streams to standard output (`-o -`, `dest=-`).
    var writesToStandardOutput: Bool { destination == "-" && kind != .image && kind != .local }

    /// Writes the result to this output. A destination of `-` is written to `stdout`.
    func write(_ result: BuildResult, store: Store, renderer: ProgressRenderer, stdout: TextOutput) throws {
        guard let destination else { return }
        let export = ImageExport(store: store, snapshotter: Snapshotter(store: store))
        switch kind {
        case .image:
            return
        case .local:
            try export.copy(of: result.layers, to: destination)
        case .tar:
            try withOutput(destination, stdout: stdout) { try export.writeTar(of: result.layers, to: $0) }
        case .oci, .docker:
            try withOutput(destination, stdout: stdout) { output in
                try ArchiveSaver(store: store).save(
                    [ArchiveSaver.Item(image: result.image, names: result.tags)], format: kind == .oci ? .oci : .docker,
                    to: output)
            }
        }
        renderer.handle(.notice("exporting to \(kind.rawValue) \(destination) done"))
    }

    private func withOutput(_ path: String, stdout: TextOutput, _ body: (FileDescriptor) throws -> Void) throws {
        if path == "-" {
            try withStandardOutput(stdout, body)
            return
        }
        try OutputFile.write(to: path, body)
    }

    /// Runs `body` on the command's standard output. An in-memory standard output (a command
    /// run in-process by a test) gets the bytes through a temporary file.
    private func withStandardOutput(_ stdout: TextOutput, _ body: (FileDescriptor) throws -> Void) throws {
        if let fd = stdout.fileDescriptor {
            // `main` put /dev/null on a closed standard output, where the tar stream would vanish.
            guard InheritedDescriptors.contains(fd) else {
                throw GeneralError(
                    "cannot write the tar stream to standard output: it is closed",
                    hint: "name a file with -o type=tar,dest=FILE, or redirect standard output to one")
            }
            let copy = dup(fd)
            guard copy >= 0 else { throw SystemError("duplicate", path: "standard output", errno: errno) }
            try body(FileDescriptor(adopting: copy, path: "standard output"))
            return
        }
        let temporary = NSTemporaryDirectory() + "kiln-output-" + UUID().uuidString
        defer { unlink(temporary) }
        let file = try FileDescriptor.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        try body(file)
        try file.close()
        stdout.write(bytes: try FileDescriptor.open(temporary, flags: O_RDONLY).readAll(limit: 1 << 30))
    }
}
