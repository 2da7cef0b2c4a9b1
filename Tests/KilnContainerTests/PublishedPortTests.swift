import KilnContainer
import KilnDiagnostics
import Testing

/// `-p` values checked when the container is created, before anything binds a port.
struct PublishedPortTests {
    private func specification(publishing values: [String]) throws -> ContainerSpecification {
        let fixture = try ContainerInsertTests.Fixture()
        defer { fixture.remove() }
        let config = try fixture.store.readConfig(fixture.image.config.digest, expectedSize: fixture.image.config.size)
        var options = CreateOptions(image: "app:1")
        options.publish = values
        return try SpecificationBuilder(options: options, image: fixture.image, config: config)
            .build(id: String(repeating: "cd", count: 32))
    }

    @Test func duplicateHostPortIsUsageError() throws {
        #expect {
            _ = try specification(publishing: ["18082:80", "18082:81"])
        } throws: { error in
            guard let error = error as? ContainerError else { return false }
            return error.exitStatus == ExitStatus.usage
                && error.diagnostic.message
                    == "invalid argument \"18082:81\" for \"--publish\" flag: host port 18082/tcp is already published by \"18082:80\""
        }
    }

    @Test func wildcardAddressOverlapsOthers() throws {
        #expect(throws: ContainerError.self) {
            _ = try specification(publishing: ["127.0.0.1:18082:80", "18082:81"])
        }
    }

    @Test func otherProtocolOrAddressMayShare() throws {
        let built = try specification(publishing: ["18082:80", "18082:80/udp", "127.0.0.1:18083:80", "127.0.0.2:18083:81"])
        #expect(built.portBindings.count == 4)
    }
}
