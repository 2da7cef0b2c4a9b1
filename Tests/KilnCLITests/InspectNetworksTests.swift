import Foundation
import Testing

@testable import KilnCLI

/// `kiln inspect` lists a container's network entry with the fields Docker's EndpointSettings has.
@Suite struct InspectNetworksTests {
    @Test func networkEntryHasAddressFields() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL networks=1\n")
        let built = await workspace.build(["-q", "-t", "networks/app:1"])
        try #require(built.status == 0, "\(built.stderr)")
        let created = await workspace.run(["create", "--name", "web", "networks/app:1", "/app"])
        try #require(created.status == 0, "\(created.stderr)")

        let template = "{{range $name, $n := .NetworkSettings.Networks}}{{$name}}[{{$n.IPAddress}}|{{$n.Gateway}}|{{$n.MacAddress}}]{{end}}"
        let result = await workspace.run(["inspect", "-f", template, "web"])
        #expect(result.status == 0, "\(result.stderr)")
        // A created container has no address yet, as in Docker, so the fields exist but are empty.
        #expect(result.stdout.hasSuffix("[||]\n"), "\(result.stdout)")
        #expect(!result.stdout.contains("<no value>"), "\(result.stdout)")

        let json = await workspace.run(["inspect", "-f", "{{json .NetworkSettings.Networks}}", "web"])
        for field in ["\"IPAddress\":\"\"", "\"Gateway\":\"\"", "\"MacAddress\":\"\"", "\"IPPrefixLen\":0", "\"NetworkID\":"] {
            #expect(json.stdout.contains(field), "\(json.stdout)")
        }
        #expect(await workspace.run(["rm", "web"]).status == 0)
    }
}
