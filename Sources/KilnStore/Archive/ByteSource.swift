import KilnSystem

/// Bytes read in order from somewhere: a file, standard input, a buffer.
public protocol ByteSource: AnyObject, Sendable {
    /// Fills the start of `buffer`; returns the number of bytes read, 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A `ByteSource` over a file descriptor (a file, a pipe, standard input).
public final class FileDescriptorSource: ByteSource {
    public let descriptor: FileDescriptor

    public init(_ descriptor: FileDescriptor) {
        self.descriptor = descriptor
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try descriptor.read(into: buffer)
    }
}

/// A `ByteSource` over bytes in memory. One reader at a time, like every byte source.
public final class BufferSource: ByteSource, @unchecked Sendable {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { raw in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + count]))
        }
        offset += count
        return count
    }
}
