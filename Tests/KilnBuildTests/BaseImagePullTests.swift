import Foundation
import KilnDockerfile
import KilnImage
import KilnSnapshot
import KilnStore
import Testing

@testable import KilnBuild

/// `--pull` failures, with a registry stand-in that always fails and builds that run no step in
/// a container (FROM scratch or a stored image, then LABEL).
struct BaseImagePullTests {
    struct UnreachableRegistry: BaseImageSource {
        func pull(_ reference: Reference, platform: Platform) async throws {
            throw BuildError(.invalidValue("registry 127.0.0.1:1 refused the connection"))
        }
    }

    /// A store in a new temporary directory with `kiln-test/base:1` built from scratch.
    final class Workspace {
        let root = NSTemporaryDirectory() + "kiln-pull-" + UUID().uuidString
        let store: Store

        init() async throws {
            store = try Store.open(root: root)
            var options = BuildOptions()
            options.tags = [try Reference.normalized("kiln-test/base:1")]
            _ = try await build("FROM scratch\nLABEL base=1\n", options: options)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: root)
        }

        func build(_ dockerfile: String, options: BuildOptions, baseImages: (any BaseImageSource)? = nil)
            async throws -> BuildResult
        {
            let engine = BuildEngine(
                store: store, snapshotter: Snapshotter(store: store), options: options, context: nil,
                baseImages: baseImages)
            return try await engine.build(DockerfileFrontend.plan(try Dockerfile.parse(dockerfile)))
        }
    }

    static var pulling: BuildOptions {
        var options = BuildOptions()
        options.pull = true
        return options
    }

    @Test func failedRefreshOfStoredImage() async throws {
        let workspace = try await Workspace()
        let error = await #expect(throws: BuildError.self) {
            try await workspace.build(
                "FROM kiln-test/base:1\nLABEL child=1\n", options: Self.pulling, baseImages: UnreachableRegistry())
        }
        let diagnostic = try #require(error?.diagnostic)
        #expect(
            diagnostic.message
                == "FROM kiln-test/base:1: --pull: pulling base image kiln-test/base:1 failed: registry 127.0.0.1:1 refused the connection"
        )
        #expect(
            diagnostic.hint
                == "check the registry and your credentials, or build without --pull to use the copy of kiln-test/base:1 in the store"
        )
    }

    @Test func failedPullOfMissingImage() async throws {
        let workspace = try await Workspace()
        let error = await #expect(throws: BuildError.self) {
            try await workspace.build(
                "FROM kiln-test/missing:1\nLABEL child=1\n", options: Self.pulling, baseImages: UnreachableRegistry())
        }
        #expect(
            error?.diagnostic.message
                == "FROM kiln-test/missing:1: base image kiln-test/missing:1 not found in the store, and pulling it failed: registry 127.0.0.1:1 refused the connection"
        )
    }

    @Test func storedImageWithoutPullBuilds() async throws {
        let workspace = try await Workspace()
        let result = try await workspace.build(
            "FROM kiln-test/base:1\nLABEL child=1\n", options: BuildOptions(), baseImages: UnreachableRegistry())
        #expect(result.config.config?.labels == ["base": "1", "child": "1"])
    }
}
