import Foundation
import KilnDockerfile
import KilnStore
import Testing

@testable import KilnBuild

struct RunMountsTests {
    struct SecretCase: CustomTestStringConvertible, Sendable {
        var mount: String
        var id: String
        var target: String?

        var testDescription: String { mount }
    }

    @Test(arguments: [
        SecretCase(mount: "type=secret,source=token", id: "token", target: "/run/secrets/token"),
        SecretCase(mount: "type=secret,src=token", id: "token", target: "/run/secrets/token"),
        SecretCase(mount: "type=secret,source=token,target=/etc/key", id: "token", target: "/etc/key"),
        SecretCase(mount: "type=secret,id=token", id: "token", target: "/run/secrets/token"),
        SecretCase(mount: "type=secret,target=/etc/key", id: "key", target: "/etc/key"),
        SecretCase(mount: "type=secret,id=team/token", id: "team/token", target: "/run/secrets/token"),
        SecretCase(mount: "type=secret,id=token,env=TOKEN", id: "token", target: nil),
        SecretCase(mount: "type=secret,source=token,env=TOKEN", id: "token", target: nil),
    ])
    func secretNamesFollowBuildKit(_ secret: SecretCase) throws {
        let named = try RunMounts.namingSecret(try RunMount(parsing: secret.mount))
        #expect(named.id == secret.id)
        #expect(named.target == secret.target)
    }

    @Test func secretWithOnlyEnvIsRejected() throws {
        let mount = try RunMount(parsing: "type=secret,env=TOKEN")
        let error = #expect(throws: BuildError.self) { try RunMounts.namingSecret(mount) }
        #expect(
            error?.diagnostic.message
                == "RUN --mount=type=secret needs the secret's id: add id=NAME, source=NAME or target=PATH")
    }

    /// Writes `size` bytes to a new temporary file and returns its path.
    static func secretFile(size: Int) throws -> String {
        let path = NSTemporaryDirectory() + "kiln-secret-" + UUID().uuidString
        try Data(repeating: 0x61, count: size).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func secretFileAtTheLimitIsRead() throws {
        let path = try Self.secretFile(size: 500 * 1024)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try RunMounts.readSecretFile(path, id: "token").count == 500 * 1024)
    }

    @Test func secretFileOverTheLimitNamesIt() throws {
        let path = try Self.secretFile(size: 500 * 1024 + 1)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: BuildError.self) { try RunMounts.readSecretFile(path, id: "token") }
        #expect(error?.diagnostic.message == "secret \"token\": \(path) is larger than 500 KiB, the limit for a secret")
    }

    @Test func missingSecretFileNamesTheSecret() throws {
        let path = NSTemporaryDirectory() + "kiln-secret-missing-" + UUID().uuidString
        let error = #expect(throws: BuildError.self) { try RunMounts.readSecretFile(path, id: "token") }
        #expect(error?.diagnostic.message.hasPrefix("secret \"token\": open \"\(path)\" failed") == true, "\(String(describing: error))")
    }
}

/// `kiln builder prune` and the cache mounts that running steps use.
struct CacheMountPruneTests {
    /// A store in a new temporary directory.
    final class Workspace {
        let root = NSTemporaryDirectory() + "kiln-cache-mounts-" + UUID().uuidString
        let store: Store

        init() throws {
            store = try Store.open(root: root)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: root)
        }

        func open(_ mount: String) throws -> CacheMount {
            try CacheMount.open(try RunMount(parsing: mount), storeRoot: root)
        }

        func prune() throws -> [String] {
            var options = BuildCachePruner.Options()
            options.all = true
            return try BuildCachePruner(store: store).prune(options).removed
        }

        /// Prunes once the released lock is free. A child process that another test spawns at
        /// that moment holds a copy of the lock's descriptor until it calls exec, so the first
        /// attempt may still find the mount locked.
        func pruneAfterRelease() throws -> [String] {
            for _ in 0..<50 {
                let removed = try prune()
                if !removed.isEmpty { return removed }
                usleep(20_000)
            }
            return try prune()
        }

        var mountNames: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: root + "/cache/mounts")) ?? [])
                .filter { !$0.hasSuffix(".lock") }.sorted()
        }
    }

    @Test(arguments: ["shared", "locked", "private"])
    func pruneSkipsMountInUse(_ sharing: String) throws {
        let workspace = try Workspace()
        let mount = try workspace.open("type=cache,target=/cache,sharing=\(sharing)")
        try Data("kept".utf8).write(to: URL(fileURLWithPath: mount.path + "/file"))

        #expect(try workspace.prune().isEmpty)
        #expect(FileManager.default.fileExists(atPath: mount.path + "/file"))

        mount.release()
        #expect(try workspace.pruneAfterRelease().count == 1)
        #expect(workspace.mountNames.isEmpty)
    }

    @Test func pruneSkipsPrivateCopyInUse() throws {
        let workspace = try Workspace()
        let first = try workspace.open("type=cache,target=/cache,sharing=private")
        let second = try workspace.open("type=cache,target=/cache,sharing=private")
        #expect(first.path != second.path)

        first.release()
        #expect(try workspace.pruneAfterRelease().count == 1)
        #expect(FileManager.default.fileExists(atPath: second.path))
        #expect(workspace.mountNames == [(second.path as NSString).lastPathComponent])

        second.release()
        #expect(workspace.mountNames.isEmpty)
    }
}
