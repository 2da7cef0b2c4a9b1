import Foundation
import Glibc
import KilnImage
@testable import KilnLayer
import KilnSystem

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-layer-XXXXXX").path
        var buffer = Array(template.utf8CString)
        guard mkdtemp(&buffer) != nil else { throw POSIXError(.EIO) }
        path = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Runs a program and returns its standard output; fails when it exits non-zero.
@discardableResult
func run(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> String {
    let output = try ChildProcess.run(executable, arguments: arguments, input: input.map { Array($0) })
    guard output.status == .exited(0) else {
        throw ProcessFailure(command: ([executable] + arguments).joined(separator: " "), status: output.status.exitCode,
            errors: String(decoding: output.standardError, as: UTF8.self))
    }
    return String(decoding: output.standardOutput, as: UTF8.self)
}

struct ProcessFailure: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var errors: String
    var description: String { "\(command) exited with \(status): \(errors)" }
}

/// Writes the layer of `directory` into `blobPath`.
func writeLayer(of directory: String, to blobPath: String, options: LayerDiffer.Options = LayerDiffer.Options())
    throws -> LayerBlobWriter.Result
{
    let output = try FileDescriptor.open(blobPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
    let result = try LayerDiffer(options: options).writeLayer(of: FilePath(directory), to: output)
    try output.close()
    return result
}

/// Applies the blob at `blobPath` to `rootPath`.
func applyLayer(
    _ blobPath: String, to rootPath: String, options: LayerApplier.Options = LayerApplier.Options(),
    resolution: RootDirectory.Resolution = .automatic
) throws -> LayerApplier.Result {
    let blob = try FileDescriptor.open(blobPath, flags: O_RDONLY)
    let root = try RootDirectory(path: FilePath(rootPath), resolution: resolution)
    return try LayerApplier(root: root, options: options).apply(blob: blob)
}

func writeFile(_ path: String, _ text: String, permissions: Int = 0o644) throws {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    chmod(path, mode_t(permissions))
}

let isRoot = geteuid() == 0

extension RootDirectory {
    /// Creates the directory first when `creating` is set.
    init(path: FilePath, resolution: Resolution, creating: Bool) throws {
        if creating {
            try FileManager.default.createDirectory(atPath: path.description, withIntermediateDirectories: true)
        }
        try self.init(path: path, resolution: resolution)
    }
}
