import Foundation
import KilnImage
import Testing

@testable import KilnRegistry

/// A pull through a mirror that lacks the image, from a registry that cannot be reached, names
/// both attempts.
@Suite struct MirrorFailureTests {
    @Test func unreachableRegistryAfterMirrorNamesBoth() async throws {
        let mirror = try MockRegistry()
        defer { mirror.stop() }
        // Nothing listens on port 1, so the registry itself refuses the connection.
        var settings = fastSettings()
        settings.mirrors = ["127.0.0.1:1": ["http://\(mirror.host)"]]
        let layout = try TemporaryLayout()
        defer { layout.remove() }
        let puller = ImagePuller(settings: settings, credentials: nil)

        var caught: RegistryError?
        do {
            _ = try await puller.pull(try Reference(parsing: "127.0.0.1:1/library/nosuch:1.0"), into: layout.layout)
        } catch let error as RegistryError {
            caught = error
        }
        let message = try #require(caught?.diagnostic.message)
        #expect(message.hasPrefix("every mirror and the registry failed:"), "\(message)")
        #expect(message.contains("http://\(mirror.host): "), "\(message)")
        #expect(message.contains("127.0.0.1:1: cannot connect"), "\(message)")
    }
}
