import Foundation
import KilnBuild
import Testing

@testable import KilnLua

/// Every plugin example in docs/plugins.md loads, so the reference never shows broken code.
@Suite struct DocumentationTests {
    static func examples() throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/plugins.md"), encoding: .utf8)
        var blocks: [String] = []
        var current: [String]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "```lua" {
                current = []
            } else if line == "```", let block = current {
                blocks.append(block.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(String(line))
            }
        }
        return blocks.filter { $0.contains("return kiln.plugin") }
    }

    @Test func pluginExamplesLoad() throws {
        let examples = try Self.examples()
        #expect(examples.count >= 11)
        var plugins: [Plugin] = []
        for (index, example) in examples.enumerated() {
            do {
                plugins.append(try loadPlugin(example, file: "example\(index).lua"))
            } catch {
                Issue.record("example \(index) in docs/plugins.md: \(error)")
            }
        }
        let hooks = Set(plugins.flatMap { $0.declaration.hooks.keys })
        #expect(hooks == Set(HookName.allCases))
    }

    @Test func exampleHooksRun() throws {
        let examples = try Self.examples()
        let plugins = try examples.enumerated().map { try loadPlugin($0.element, file: "example\($0.offset).lua") }
        let set = try PluginSet(plugins.filter { $0.name != "latest" })
        let expansion = try set.expand(InstructionLine(keyword: "APT_INSTALL", arguments: "curl git"))
        #expect(expansion?.lines.first?.arguments.hasPrefix("apt-get update && apt-get install -y --no-install-recommends curl git") == true)
        let tags = try set.tag(TagHookInput(imageID: "sha256:1", labels: ["org.opencontainers.image.version": "2.5.1"]))
        #expect(tags.tags == ["2.5.1", "2.5", "2"])
    }
}
