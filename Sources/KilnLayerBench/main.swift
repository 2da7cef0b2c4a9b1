// kiln-layer-bench: runs KilnLayer's diff and apply on their own, for scripts/bench.d/layer.
//
// Usage:
//   kiln-layer-bench diff DIRECTORY OUTPUT [gzip|zstd|none] [THREADS]
//   kiln-layer-bench compress TAR OUTPUT [gzip|zstd] [THREADS]
//   kiln-layer-bench apply BLOB DIRECTORY [merged|snapshot]
//
// Prints the digests as one JSON object on stdout.
import Foundation
import Glibc
import KilnLayer
import KilnSystem

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("kiln-layer-bench: \(message)\n".utf8))
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count >= 4 else { fail("usage: kiln-layer-bench diff DIR OUTPUT [gzip|zstd|none] [THREADS] | apply BLOB DIR") }

do {
    switch arguments[1] {
    case "diff":
        let compression = arguments.count > 4 ? LayerCompression(rawValue: arguments[4] == "none" ? "uncompressed" : arguments[4]) : .gzip
        guard let compression else { fail("unknown compression \(arguments[4])") }
        var options = LayerDiffer.Options(compression: compression)
        if arguments.count > 5, let threads = Int(arguments[5]) { options.blob.threads = threads }
        let output = try FileDescriptor.open(arguments[3], flags: O_WRONLY | O_CREAT | O_TRUNC)
        let result = try LayerDiffer(options: options).writeLayer(of: FilePath(arguments[2]), to: output)
        try output.close()
        print("{\"diffID\":\"\(result.diffID)\",\"digest\":\"\(result.digest)\",\"size\":\(result.size),\"uncompressedSize\":\(result.uncompressedSize)}")
    case "compress":
        let compression = arguments.count > 4 ? LayerCompression(rawValue: arguments[4]) : .gzip
        guard let compression else { fail("unknown compression \(arguments[4])") }
        var options = LayerBlobWriter.Options(compression: compression)
        if arguments.count > 5, let threads = Int(arguments[5]) { options.threads = threads }
        let input = try FileDescriptor.open(arguments[2], flags: O_RDONLY)
        let output = try FileDescriptor.open(arguments[3], flags: O_WRONLY | O_CREAT | O_TRUNC)
        let writer = try LayerBlobWriter(output: output, options: options)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
            if count == 0 { break }
            try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        let result = try writer.finish()
        try output.close()
        print("{\"diffID\":\"\(result.diffID)\",\"digest\":\"\(result.digest)\",\"size\":\(result.size)}")
    case "apply":
        let mode: LayerApplier.Mode = arguments.count > 4 && arguments[4] == "snapshot" ? .snapshot(lowerLayers: []) : .merged
        let root = try RootDirectory(path: FilePath(arguments[3]))
        let result = try LayerApplier(root: root, options: LayerApplier.Options(mode: mode))
            .apply(blob: try FileDescriptor.open(arguments[2], flags: O_RDONLY))
        print("{\"diffID\":\"\(result.diffID)\",\"digest\":\"\(result.digest)\",\"entries\":\(result.entryCount)}")
    default:
        fail("unknown command \(arguments[1])")
    }
} catch let error as any CustomStringConvertible & Error {
    fail(error.description)
}
