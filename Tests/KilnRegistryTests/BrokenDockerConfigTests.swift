import Foundation
import KilnImage
import Synchronization
import Testing

@testable import KilnRegistry

/// A Docker config file that is not valid JSON is skipped with a warning, as the Docker CLI
/// skips it, and a registry that then denies access gets a hint to fix the file.
@Suite struct BrokenDockerConfigTests {
    /// A home folder whose `.docker/config.json` contains `text`.
    final class Home {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-docker-config-\(UUID().uuidString.prefix(8))").path
        var configPath: String { path + "/.docker/config.json" }

        init(config text: String) throws {
            try FileManager.default.createDirectory(atPath: path + "/.docker", withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: configPath))
        }

        deinit {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    @Test func invalidJSONIsSkippedWithWarning() throws {
        let home = try Home(config: #"{"auths":"#)
        let warnings = Mutex<[String]>([])
        var store = CredentialStore(environment: ["HOME": home.path])
        store.warn = { text in warnings.withLock { $0.append(text) } }

        #expect(try store.credentials(for: "127.0.0.1:5000") == nil)
        let warningLines = warnings.withLock { $0 }
        #expect(warningLines.count == 1)
        #expect(warningLines.first?.hasPrefix("WARNING: ignoring Docker's config file \(home.configPath)") == true, "\(warningLines)")
        #expect(warningLines.first?.contains("invalid JSON") == true, "\(warningLines)")
        #expect(store.dockerConfigProblem() != nil)
    }

    @Test func badAuthEntryStaysAnError() throws {
        let home = try Home(config: #"{"auths":{"127.0.0.1:5000":{"auth":"***"}}}"#)
        let store = CredentialStore(environment: ["HOME": home.path])
        #expect(throws: RegistryError.self) { try store.credentials(for: "127.0.0.1:5000") }
        #expect(store.dockerConfigProblem() == nil)
    }

    @Test func deniedPullHintsAtSkippedFile() async throws {
        let home = try Home(config: "not json")
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.add(TestImage(layerSizes: [100]), repository: "kiln/app", tag: "1.0")
        registry.requiredAuthorization.withLock { $0 = "Basic never" }
        let store = CredentialStore(environment: ["HOME": home.path])
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        let puller = ImagePuller(settings: fastSettings(), credentials: store)

        let reference = try Reference(parsing: "\(registry.host)/kiln/app:1.0")
        var caught: RegistryError?
        do {
            _ = try await puller.pull(reference, platform: .host, into: layout.layout)
        } catch let error as RegistryError {
            caught = error
        }
        let diagnostic = try #require(caught?.diagnostic)
        #expect(diagnostic.message.contains("access to \(registry.host)"), "\(diagnostic.message)")
        #expect(diagnostic.hint?.contains("kiln skipped \(home.configPath) because it is invalid") == true, "\(diagnostic.hint ?? "")")
        #expect(diagnostic.hint?.contains("kiln login \(registry.host)") == true, "\(diagnostic.hint ?? "")")
    }
}
