import KilnBuild
import Testing

@testable import KilnLua

@Suite struct PipPluginTests {
    @Test func installSkipsTheCache() async throws {
        let plan = try await Shipped.plan(
            "FROM python:3.12-slim\nPIP_INSTALL flask==3.0.3 'gunicorn>=22' -r requirements.txt\n", [try Shipped.load("pip")])
        let steps = plan.plan.stages[0].steps
        #expect(steps.map(\.instruction.original) == ["RUN pip install --no-cache-dir flask==3.0.3 'gunicorn>=22' -r requirements.txt"])
        #expect(steps[0].expandedFrom?.keyword == "PIP_INSTALL")
    }

    @Test func wordsWithShellCharactersAreQuoted() throws {
        let pip = try Shipped.load("pip")
        let lines = try pip.expand(InstructionLine(keyword: "PIP_INSTALL", arguments: #"a;id "it's" $(id)"#))?.lines
        #expect(lines?.map(\.text) == [#"RUN pip install --no-cache-dir 'a;id' 'it'\''s' '$(id)'"#])
    }

    @Test func pipCommandComesFromOptions() throws {
        let pip = try Shipped.load("pip", options: .record(["pip": .text("python3 -m pip")]))
        let lines = try pip.expand(InstructionLine(keyword: "PIP_INSTALL", arguments: "flask"))?.lines
        #expect(lines?.map(\.text) == ["RUN python3 -m pip install --no-cache-dir flask"])
    }

    @Test func layerHookDropsCaches() throws {
        let pip = try Shipped.load("pip")
        let entries = [
            LayerEntry(path: "usr/lib/python3/app", kind: .directory),
            LayerEntry(path: "usr/lib/python3/app/__pycache__", kind: .directory),
            LayerEntry(path: "usr/lib/python3/app/__pycache__/x.cpython-312.pyc", kind: .file, size: 10),
            LayerEntry(path: "root/.cache/pip", kind: .directory),
            LayerEntry(path: "home/app/.cache/pip", kind: .directory),
            LayerEntry(path: "root/.cache/other", kind: .directory),
            LayerEntry(path: "srv/__pycache__.txt", kind: .file),
            LayerEntry(path: "srv/__pycache__", kind: .whiteout),
        ]
        let result = try PluginSet([pip]).layer(LayerHookInput(stage: "stage-0", instruction: nil, entries: entries))
        #expect(result.droppedPaths == ["usr/lib/python3/app/__pycache__", "root/.cache/pip", "home/app/.cache/pip"])
        #expect(result.plugins.map(\.name) == ["pip"])
    }
}
