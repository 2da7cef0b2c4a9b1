import CSystem
import Glibc

extension FileDescriptor {
    /// Creates a pipe whose ends are both close-on-exec, so that only a child given one end in
    /// `ChildProcess.spawn(descriptors:)` gets it.
    public static func pipe() throws -> (readEnd: FileDescriptor, writeEnd: FileDescriptor) {
        var ends: [Int32] = [-1, -1]
        guard kiln_pipe_cloexec(&ends) == 0 else {
            throw SystemError.current("create", path: "a pipe")
        }
        return (
            FileDescriptor(adopting: ends[0], path: "read end of a pipe"),
            FileDescriptor(adopting: ends[1], path: "write end of a pipe")
        )
    }
}
