import CSystem
import Foundation
import KilnSystem

extension ChildProcess {
    /// Starts runc or slirp4netns through `spawn`, reporting a failure as the `RuntimeError` that
    /// KilnRuntime's callers expect.
    static func start(
        _ executable: String, arguments: [String], descriptors: KeyValuePairs<Int32, Int32>, newProcessGroup: Bool = false
    ) throws -> ChildProcess {
        do {
            return try spawn(
                executable, arguments: arguments, descriptors: descriptors, newProcessGroup: newProcessGroup)
        } catch let error as SystemError {
            throw RuntimeError(.systemCallFailed(operation: "starting \(executable)", errno: error.errno))
        }
    }
}

/// A pipe whose both ends are close-on-exec. `ChildProcess.start` hands one end to the child.
struct Pipe {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard kiln_pipe_cloexec(&fds) == 0 else {
            throw RuntimeError(.systemCallFailed(operation: "creating a pipe", errno: errno))
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }
}

/// Opens /dev/null close-on-exec, for a child's standard input.
func openDevNull(flags: Int32 = O_RDWR) throws -> Int32 {
    let fd = open("/dev/null", flags | O_CLOEXEC)
    guard fd >= 0 else {
        throw RuntimeError(.systemCallFailed(operation: "opening /dev/null", errno: errno))
    }
    return fd
}
