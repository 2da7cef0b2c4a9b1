import KilnBuild
import Testing

@testable import KilnLua

@Suite struct RetentionPluginTests {
    static let candidates = [
        PruneCandidate(id: "app:1.0.0", repository: "app", tag: "1.0.0", created: 100, size: 1),
        PruneCandidate(id: "app:1.1.0", repository: "app", tag: "1.1.0", created: 200, size: 1),
        PruneCandidate(id: "app:1.2.0", repository: "app", tag: "1.2.0", created: 300, size: 1),
        PruneCandidate(id: "app:latest", repository: "app", tag: "latest", created: 300, size: 1),
        PruneCandidate(id: "app:release-0.9", repository: "app", tag: "release-0.9", created: 50, size: 1),
        PruneCandidate(id: "tool:a", repository: "tool", tag: "a", created: 10, size: 1),
    ]

    @Test func keepsNewestPerRepositoryAndLatest() throws {
        let plugin = try Shipped.load("retention", options: .record(["keep": .integer(2)]))
        let result = try PluginSet([plugin]).prune(Self.candidates)
        #expect(result.remove == ["app:1.0.0", "app:1.1.0", "app:release-0.9"])
    }

    @Test func protectedPatternsStay() throws {
        let options = LuaValue.record(["keep": .integer(1), "protect": .array([.text("^release%-")])])
        let plugin = try Shipped.load("retention", options: options)
        let result = try PluginSet([plugin]).prune(Self.candidates)
        #expect(result.remove == ["app:1.0.0", "app:1.1.0", "app:1.2.0"])
    }

    @Test func invalidKeepFails() throws {
        let plugin = try Shipped.load("retention", options: .record(["keep": .text("five")]))
        let error = luaError { _ = try plugin.prune(Self.candidates) }
        #expect(error?.message == "retention: keep must be a whole number of tags, such as keep = 5")
    }
}

@Suite struct OCILabelsPluginTests {
    @Test func commitFillsLabels() throws {
        let context = TemporaryFolder()
        context.write("VERSION", "3.1.4\n")
        let facts = GitFacts(
            commit: "0a1b2c3d4e5f", shortCommit: "0a1b2c3", branch: "main", tag: nil, isDirty: false,
            remote: "https://git.example/team/app.git")
        let plugin = try Shipped.load("oci-labels", context: context.path, git: facts)
        let input = CommitHookInput(created: "2024-05-01T10:00:00Z", labels: ["org.opencontainers.image.version": "base"])
        let changes = try plugin.commit(input)
        #expect(changes == [
            .setLabel("org.opencontainers.image.created", "2024-05-01T10:00:00Z"),
            .setLabel("org.opencontainers.image.revision", "0a1b2c3d4e5f"),
            .setLabel("org.opencontainers.image.source", "https://git.example/team/app.git"),
            .setLabel("org.opencontainers.image.version", "3.1.4"),
        ])
    }

    @Test func buildArgumentVersionWinsAndUnknownFactsAreLeftOut() throws {
        let plugin = try Shipped.load("oci-labels", context: TemporaryFolder().path)
        let input = CommitHookInput(created: "2024-05-01T10:00:00Z", buildArguments: ["VERSION": "7.0.0"])
        #expect(try plugin.commit(input) == [
            .setLabel("org.opencontainers.image.created", "2024-05-01T10:00:00Z"),
            .setLabel("org.opencontainers.image.version", "7.0.0"),
        ])
    }
}

@Suite struct SecretGuardPluginTests {
    static let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"

    func decision(_ content: MemoryContent, registry: String = "registry.example", options: LuaValue = .table(LuaTable()))
        throws -> HookDecision
    {
        let plugin = try Shipped.load("secret-guard", options: options)
        let input = PushHookInput(
            reference: "\(registry)/app:1", registry: registry, repository: "app", tag: "1", content: content)
        return try PluginSet([plugin]).push(input).decision
    }

    @Test func privateKeyInLayerIsRefused() throws {
        let content = MemoryContent(config: "{}", files: [("sha256:aaaaaaaaaaaaaaaaaaaa", "root/.ssh/id_ed25519", Self.key)])
        guard case .refuse(let plugin, let reason) = try decision(content) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(plugin == "secret-guard")
        #expect(reason.hasPrefix("the image holds a private key in /root/.ssh/id_ed25519 in layer sha256:aaaaaaaaaaaa"))
    }

    @Test func accessKeyInConfigIsRefused() throws {
        let content = MemoryContent(config: #"{"config":{"Env":["AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"]}}"#, files: [])
        guard case .refuse(_, let reason) = try decision(content) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason.hasPrefix("the image holds an AWS access key in the image config"))
    }

    @Test func lookalikesAreAllowed() throws {
        let content = MemoryContent(
            config: "{}",
            files: [
                ("sha256:b", "usr/share/doc/ssh.txt", "-----BEGIN PUBLIC KEY-----\nAKIA is a prefix\nAIza short\n"),
                ("sha256:b", "etc/motd", "AKIAlowercase0000000\n"),
            ])
        #expect(try decision(content) == .allow)
    }

    @Test func allowedRegistryIsNotScanned() throws {
        let content = MemoryContent(config: "{}", files: [("sha256:c", "key.pem", Self.key)])
        let options = LuaValue.record(["allow_registries": .array([.text("vault.internal:5000")])])
        #expect(try decision(content, registry: "vault.internal:5000", options: options) == .allow)
        #expect(try decision(content, registry: "registry.example", options: options) != .allow)
    }

    @Test func ignoredPathsAreSkipped() throws {
        let content = MemoryContent(config: "{}", files: [("sha256:c", "usr/lib/python3/test/keys/test.pem", Self.key)])
        let options = LuaValue.record(["ignore_paths": .array([.text("/test/keys/")])])
        #expect(try decision(content, options: options) == .allow)
    }

    @Test func incompleteScanIsRefusedUnlessAllowed() throws {
        let content = MemoryContent(config: "{}", files: [("sha256:d", "big.bin", String(repeating: "x", count: 4096))])
        guard case .refuse(_, let reason) = try decision(content, options: .record(["max_bytes": .integer(100)])) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason.hasPrefix("secret-guard searched 2 bytes of the image and reached its limit before the end"))
        let allowing = LuaValue.record(["max_bytes": .integer(100), "on_incomplete": .text("allow")])
        #expect(try decision(content, options: allowing) == .allow)
    }

    @Test func scanWithoutContentFails() throws {
        let plugin = try Shipped.load("secret-guard")
        let input = PushHookInput(reference: "registry.example/app:1", registry: "registry.example", repository: "app", tag: "1")
        let error = luaError { _ = try plugin.push(input) }
        #expect(error?.message == "push:scan: the image content is not available to this hook")
    }
}
