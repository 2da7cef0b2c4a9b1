import Foundation
import KilnCLI

/// The outcome of one kiln command line run by a test.
struct KilnResult {
    var status: Int32
    var stdout: String
    var stderr: String
    /// Standard output as bytes, for binary output such as `kiln cp CONTAINER:PATH -`.
    var stdoutBytes: [UInt8] = []
}

/// Runs kiln command lines against one store root, in-process through `Kiln.main`, so tests see
/// exactly what a user would and need no built binary.
struct KilnInvocation {
    var root: String
    var workingDirectory: String
    var environment: [String: String] = ProcessInfo.processInfo.environment

    init(root: String, workingDirectory: String = FileManager.default.currentDirectoryPath) {
        self.root = root
        self.workingDirectory = workingDirectory
    }

    /// Runs `kiln --root ROOT ARGUMENTS...` with `stdin` as standard input.
    func callAsFunction(_ arguments: String..., stdin: [UInt8] = []) async -> KilnResult {
        await run(arguments, stdin: stdin)
    }

    func run(_ arguments: [String], stdin: [UInt8] = []) async -> KilnResult {
        let stdout = TextOutput()
        let stderr = TextOutput()
        let context = CommandContext(
            stdout: stdout, stderr: stderr, stdin: .bytes(stdin), environment: environment,
            workingDirectory: workingDirectory)
        let status = await Kiln.main(["--root", root] + arguments, context: context)
        return KilnResult(status: status, stdout: stdout.text, stderr: stderr.text, stdoutBytes: stdout.bytes)
    }
}
