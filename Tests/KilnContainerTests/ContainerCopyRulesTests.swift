import KilnSystem
import Testing

@testable import KilnContainer

/// The path rules of `kiln cp` and the parsing behind `kiln top`, which need no container.
struct ContainerCopyRulesTests {
    @Test func planFollowsDockerRules() throws {
        let existingDirectory = try CopyPaths.plan(
            sourceBase: "dir", sourceIsDirectory: true, sourceDisplay: "dir", destination: "/out", destinationDisplay: "/out",
            exists: true, isDirectory: true, assertsDirectory: false)
        #expect(existingDirectory.directory == "/out")
        #expect(existingDirectory.name == "dir")

        let contents = try CopyPaths.plan(
            sourceBase: ".", sourceIsDirectory: true, sourceDisplay: "dir/.", destination: "/out", destinationDisplay: "/out",
            exists: true, isDirectory: true, assertsDirectory: false)
        #expect(contents.name == "")

        let newName = try CopyPaths.plan(
            sourceBase: "dir", sourceIsDirectory: true, sourceDisplay: "dir", destination: "/out/new", destinationDisplay: "/out/new",
            exists: false, isDirectory: false, assertsDirectory: false)
        #expect(newName.directory == "/out")
        #expect(newName.name == "new")

        let replaced = try CopyPaths.plan(
            sourceBase: "f", sourceIsDirectory: false, sourceDisplay: "f", destination: "/out/g", destinationDisplay: "/out/g",
            exists: true, isDirectory: false, assertsDirectory: false)
        #expect(replaced.name == "g")

        #expect(throws: CopyError(.cannotCopyDirectoryToFile(source: "dir", destination: "/out/g"))) {
            try CopyPaths.plan(
                sourceBase: "dir", sourceIsDirectory: true, sourceDisplay: "dir", destination: "/out/g", destinationDisplay: "/out/g",
                exists: true, isDirectory: false, assertsDirectory: false)
        }
        #expect(throws: CopyError(.destinationDirectoryMissing(path: "/out/new/"))) {
            try CopyPaths.plan(
                sourceBase: "f", sourceIsDirectory: false, sourceDisplay: "f", destination: "/out/new", destinationDisplay: "/out/new/",
                exists: false, isDirectory: false, assertsDirectory: true)
        }
    }

    @Test func sourceBaseAndDirectoryAssertions() {
        #expect(CopyPaths.sourceBase("/a/b") == "b")
        #expect(CopyPaths.sourceBase("/a/b/") == "b")
        #expect(CopyPaths.sourceBase("/a/b/.") == ".")
        #expect(CopyPaths.sourceBase("/") == ".")
        #expect(CopyPaths.assertsDirectory("/a/"))
        #expect(CopyPaths.assertsDirectory("/a/."))
        #expect(!CopyPaths.assertsDirectory("/a"))
        #expect(CopyPaths.copiesContents("/a/."))
        #expect(!CopyPaths.copiesContents("/a/"))
    }

    @Test func archiveNamesAreCleaned() {
        #expect(ArchiveExtractor.clean("./a/./b") == ["a", "b"])
        #expect(ArchiveExtractor.clean("a/../b") == ["b"])
        #expect(ArchiveExtractor.clean("/etc/passwd") == ["etc", "passwd"])
        #expect(ArchiveExtractor.clean(".") == [])
        #expect(ArchiveExtractor.clean("../x") == nil)
        #expect(ArchiveExtractor.clean("a/../../x") == nil)
    }

    @Test func psOutputKeepsContainerRows() throws {
        let output = """
            UID          PID    PPID  C STIME TTY          TIME CMD
            root           1       0  0 10:00 ?        00:00:01 /sbin/init splash
            root        4242    4200  0 10:01 ?        00:00:00 sleep 1000
            root           -       -  0 10:01 ?        00:00:00 -
            root        4243    4242  0 10:01 ?        00:00:00 sh -c echo  two  spaces

            """
        let table = try ContainerManager.parsePS(output, pids: [4242, 4243])
        #expect(table.titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"])
        #expect(table.processes.count == 3)
        #expect(table.processes.first?.last == "sleep 1000")
        #expect(table.processes[1][1] == "-")
        #expect(table.processes.last?.last == "sh -c echo two spaces")

        #expect(throws: ContainerError.self) { try ContainerManager.parsePS("USER COMMAND\nroot init\n", pids: [1]) }
        #expect(throws: ContainerError.self) { try ContainerManager.parsePS("PID CMD\nx init\n", pids: [1]) }
    }

    @Test func psOptionsCannotRenamePID() throws {
        #expect(throws: ContainerError.self) { try ContainerManager.checkPSArguments(["-o", "user=PID"]) }
        #expect(throws: ContainerError.self) { try ContainerManager.checkPSArguments(["-o", "pid,comm=PIDX"]) }
        try ContainerManager.checkPSArguments(["-o", "pid=PID,comm"])
        try ContainerManager.checkPSArguments(["aux"])
    }
}
