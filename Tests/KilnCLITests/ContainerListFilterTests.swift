import Foundation
import Testing

@testable import KilnCLI

/// `kiln ps --filter` keys that Docker has and that need no running container: `volume=`,
/// `network=`, `before=` and `since=`, and the checks of `publish=` and `expose=` values.
@Suite struct ContainerListFilterTests {
    /// A workspace with three created containers, oldest first: `first` (a named volume),
    /// `second` (`--network none`, a bind mount) and `third`.
    static func workspace() async throws -> BuildWorkspace {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL filters=1\n")
        let built = await workspace.build(["-q", "-t", "filters/app:1"])
        try #require(built.status == 0, "\(built.stderr)")
        workspace.write("shared/keep", "")
        let creates = [
            ["create", "--name", "first", "-v", "data:/data", "filters/app:1", "/app"],
            ["create", "--name", "second", "--network", "none", "-v", "\(workspace.context)/shared:/shared", "filters/app:1", "/app"],
            ["create", "--name", "third", "filters/app:1", "/app"],
        ]
        for arguments in creates {
            let created = await workspace.run(arguments)
            try #require(created.status == 0, "\(arguments): \(created.stderr)")
        }
        return workspace
    }

    static func names(_ workspace: BuildWorkspace, _ filters: [String]) async -> String {
        let arguments = ["ps", "-a", "--format", "{{.Names}}"] + filters.flatMap { ["--filter", $0] }
        return await workspace.run(arguments).stdout
    }

    @Test func volumeFilterMatchesNamePathOrDestination() async throws {
        let workspace = try await Self.workspace()
        #expect(await Self.names(workspace, ["volume=data"]) == "first\n")
        #expect(await Self.names(workspace, ["volume=/data"]) == "first\n")
        #expect(await Self.names(workspace, ["volume=\(workspace.context)/shared"]) == "second\n")
        #expect(await Self.names(workspace, ["volume=/shared"]) == "second\n")
        #expect(await Self.names(workspace, ["volume=data", "volume=/shared"]) == "second\nfirst\n")
        #expect(await Self.names(workspace, ["volume=/dat"]) == "")
    }

    @Test func networkFilterMatchesMode() async throws {
        let workspace = try await Self.workspace()
        #expect(await Self.names(workspace, ["network=none"]) == "second\n")
        #expect(await Self.names(workspace, ["network=bridge"]) == "third\nfirst\n")
    }

    @Test func beforeAndSinceNeedAContainer() async throws {
        let workspace = try await Self.workspace()
        #expect(await Self.names(workspace, ["before=second"]) == "first\n")
        #expect(await Self.names(workspace, ["since=second"]) == "third\n")
        #expect(await Self.names(workspace, ["since=first", "volume=/shared"]) == "second\n")

        let missing = await workspace.run(["ps", "--filter", "before=nothing-here"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("No such container: nothing-here"), "\(missing.stderr)")
        #expect(missing.stdout == "")
    }

    /// Created containers have no ports in the PORTS column, so no port filter selects them, as
    /// in Docker; the running case is an integration test.
    @Test func portFiltersParseDockerForms() async throws {
        let workspace = try await Self.workspace()
        for value in ["publish=80", "expose=80/tcp", "expose=8000-8100/udp", "publish=0"] {
            let result = await workspace.run(["ps", "-a", "-q", "--filter", value])
            #expect(result.status == 0, "\(value): \(result.stderr)")
            #expect(result.stdout == "", "\(value)")
        }
        for value in ["publish=8080:80", "publish=abc", "expose=90-80", "publish=70000", "expose=", "expose=/tcp"] {
            let result = await workspace.run(["ps", "--filter", value])
            #expect(result.status == 125, "\(value)")
            #expect(
                result.stderr.contains("invalid filter '\(value)': expected PORT[/PROTOCOL] or START-END[/PROTOCOL]"),
                "\(value): \(result.stderr)")
        }
    }

    @Test func portRangeReadsProtocol() {
        #expect(PortRange("80") == PortRange("80/tcp"))
        #expect(PortRange("80/")?.proto == "tcp")
        #expect(PortRange("53/UDP")?.proto == "udp")
        let range = PortRange("8000-8100/udp")
        #expect(range?.contains(8050, proto: "udp") == true)
        #expect(range?.contains(8050, proto: "tcp") == false)
        #expect(range?.contains(8101, proto: "udp") == false)
        #expect(PortRange("65535")?.upper == 65535)
        #expect(PortRange("65536") == nil)
    }
}
