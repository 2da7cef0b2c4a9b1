import KilnContainer
import Testing

@testable import KilnCLI

/// Argument splitting of `kiln cp` and the column layout of `kiln top`.
struct CopyAndTopCommandTests {
    @Test func copyArgumentsSplitAsDocker() {
        #expect(CopyCommand.split("box:/etc/passwd") == ("box", "/etc/passwd"))
        #expect(CopyCommand.split("box:tmp") == ("box", "tmp"))
        #expect(CopyCommand.split("/abs/a:b") == (nil, "/abs/a:b"))
        #expect(CopyCommand.split("./a:b") == (nil, "./a:b"))
        #expect(CopyCommand.split("file") == (nil, "file"))
        #expect(CopyCommand.split("-") == (nil, "-"))
        #expect(CopyCommand.split("box:") == ("box", ""))
    }

    /// An empty path would be the current folder, so it is a usage error before the store opens.
    @Test func emptyCopyPathsAreRejected() async {
        for (arguments, reason) in [(["", "box:/tmp"], "source can not be empty"), (["box:/f", ""], "destination can not be empty")] {
            let stdout = TextOutput(capturingAsTerminal: false)
            let stderr = TextOutput(capturingAsTerminal: false)
            let context = CommandContext(
                stdout: stdout, stderr: stderr, stdin: .bytes([]), environment: [:], workingDirectory: "/")
            let status = await Kiln.main(["--root", "/nonexistent/kiln-cp-test", "cp"] + arguments, context: context)
            #expect(status == 125)
            #expect(stderr.text.contains(reason), "\(stderr.text)")
        }
    }

    @Test func topColumnsAlignAsDocker() {
        let table = ProcessTable(
            titles: ["UID", "PID", "CMD"],
            processes: [["root", "1", "sleep 1000"], ["a-user-name-longer-than-20", "22", "sh"]])
        let lines = TopCommand.format(table)
        // The first column is 26 + 3 wide, the second the minimum of 20, the last unpadded.
        let header = "UID                          PID                 CMD"
        let first = "root                         1                   sleep 1000"
        let second = "a-user-name-longer-than-20   22                  sh"
        #expect(lines == [header, first, second])
    }
}
