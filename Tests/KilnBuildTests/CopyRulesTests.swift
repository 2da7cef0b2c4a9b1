import KilnRuntime
import Testing

@testable import KilnBuild

struct CopyRulesTests {
    @Test(arguments: [
        ("/app/", true), ("/app", false), (".", true), ("..", true), ("dir/.", true), ("rel", false),
    ])
    func destinationsNamingDirectories(_ destination: String, _ isDirectory: Bool) {
        #expect(StageBuilder.namesDirectory(destination) == isDirectory)
    }

    @Test func pathsJoinTheWorkingDirectory() {
        #expect(StageBuilder.joinPath("/wd", "rel") == "/wd/rel")
        #expect(StageBuilder.joinPath("/wd", "/abs") == "/abs")
        #expect(StageBuilder.joinPath(nil, "a/../b/./c") == "/b/c")
        #expect(StageBuilder.joinPath("/wd", "../../..") == "/")
        #expect(StageBuilder.destinationPath(".", workdir: "/wd") == "wd")
    }

    @Test func chownFollowsBuildKit() throws {
        let database = UserDatabase(
            passwd: Array("root:x:0:0::/root:/bin/sh\nappuser:x:1001:1002::/home/app:/bin/sh\n".utf8),
            group: Array("root:x:0:\nappgroup:x:1002:\nstaff:x:50:\n".utf8))
        #expect(try StageBuilder.chownOwner("appuser", database: database) == (1001, 1002))
        #expect(try StageBuilder.chownOwner("42", database: database) == (42, 42))
        #expect(try StageBuilder.chownOwner("appuser:staff", database: database) == (1001, 50))
        #expect(try StageBuilder.chownOwner("7:8", database: database) == (7, 8))
        #expect(throws: BuildError.self) { try StageBuilder.chownOwner("ghost", database: database) }
        #expect(throws: BuildError.self) { try StageBuilder.chownOwner("appuser:ghosts", database: database) }
    }

    @Test func parentsKeepThePathAfterAPivot() {
        #expect(StageBuilder.parentsPath("src/./app/main.c", "src/app/main.c") == "app/main.c")
        #expect(StageBuilder.parentsPath("src/app/main.c", "src/app/main.c") == "src/app/main.c")
    }

    @Test func environmentEditsKeepPositions() {
        let environment = ["PATH=/bin", "A=1", "B=2"]
        #expect(EnvironmentEditing.setting("A", "9", in: environment) == ["PATH=/bin", "A=9", "B=2"])
        #expect(EnvironmentEditing.setting("C", "3", in: environment) == environment + ["C=3"])
        #expect(EnvironmentEditing.value(of: "B", in: environment) == "2")
        #expect(EnvironmentEditing.value(of: "AB", in: environment) == nil)
    }
}
