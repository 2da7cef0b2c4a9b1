import KilnLayer
import KilnSystem
import Testing

@testable import KilnStore

@Suite struct AnalysisTests {
    private func entry(_ name: String, size: Int64 = 0, kind: TarEntry.Kind = .regular) -> TarEntry {
        var entry = TarEntry(path: FilePath(name), kind: kind)
        entry.size = size
        return entry
    }

    @Test func entryNamesAreSorted() {
        var changes = LayerChanges()
        for item in [
            entry("./etc/", kind: .directory), entry("/etc/passwd", size: 10), entry("etc/.wh.shadow"),
            entry("var/cache/.wh..wh..opq"), entry("a/../b", size: 3),
        ] {
            changes.add(item)
        }
        #expect(changes.files.map(\.path) == ["etc", "etc/passwd", "b"])
        #expect(changes.whiteouts == ["etc/shadow"])
        #expect(changes.opaqueDirectories == ["var/cache"])
    }

    @Test func treeReportsHiddenFiles() {
        var tree = FileTree()
        _ = tree.insert("var", size: 0, layer: 0, isDirectory: true)
        _ = tree.insert("var/cache", size: 0, layer: 0, isDirectory: true)
        _ = tree.insert("var/cache/a", size: 100, layer: 0, isDirectory: false)
        _ = tree.insert("var/cache/sub/b", size: 50, layer: 0, isDirectory: false)
        _ = tree.insert("bin/tool", size: 7, layer: 0, isDirectory: false)

        let overwritten = tree.insert("bin/tool", size: 9, layer: 1, isDirectory: false)
        #expect(overwritten.map(\.size) == [7])
        let opaque = tree.removeChildren(of: "var/cache")
        #expect(Set(opaque.map(\.path)) == ["var/cache/a", "var/cache/sub/b"])
        #expect(tree.remove("var/cache/a").isEmpty)
        let replacedDirectory = tree.insert("var", size: 4, layer: 2, isDirectory: false)
        #expect(replacedDirectory.isEmpty)
        #expect(tree.remove("bin").map(\.size) == [9])
    }
}
