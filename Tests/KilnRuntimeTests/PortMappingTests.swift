import Testing

@testable import KilnRuntime

@Suite struct PortMappingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var value: String
        var expected: [PortMapping]
        var testDescription: String { "-p \(value)" }
    }

    static let cases: [Case] = [
        Case(value: "8080:80", expected: [PortMapping(hostPort: 8080, containerPort: 80)]),
        Case(value: "80", expected: [PortMapping(hostPort: 0, containerPort: 80)]),
        Case(value: "127.0.0.1:8080:80", expected: [PortMapping(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80)]),
        Case(value: "127.0.0.1::80", expected: [PortMapping(hostIP: "127.0.0.1", hostPort: 0, containerPort: 80)]),
        Case(value: "53:53/udp", expected: [PortMapping(hostPort: 53, containerPort: 53, proto: .udp)]),
        Case(value: "8443:443/TCP", expected: [PortMapping(hostPort: 8443, containerPort: 443)]),
        Case(value: "[::1]:8080:80", expected: [PortMapping(hostIP: "::1", hostPort: 8080, containerPort: 80)]),
        Case(
            value: "8000-8001:80-81",
            expected: [PortMapping(hostPort: 8000, containerPort: 80), PortMapping(hostPort: 8001, containerPort: 81)]),
        Case(
            value: "9000-9001",
            expected: [PortMapping(hostPort: 0, containerPort: 9000), PortMapping(hostPort: 0, containerPort: 9001)]),
    ]

    @Test(arguments: cases)
    func parses(_ testCase: Case) throws {
        #expect(try PortMapping.parse(testCase.value) == testCase.expected)
    }

    struct Invalid: Sendable, CustomTestStringConvertible {
        var value: String
        var reason: String
        var testDescription: String { "-p \(value)" }
    }

    static let invalid: [Invalid] = [
        Invalid(value: "8080:80/sctp", reason: "the protocol must be tcp or udp"),
        Invalid(value: "70000:80", reason: "\"70000\" is not a port number between 1 and 65535"),
        Invalid(value: "8080:", reason: "the container port is missing"),
        Invalid(value: "host:8080:80", reason: "\"host\" is not an IP address"),
        Invalid(value: "1:2:3:4", reason: "too many fields"),
        Invalid(value: "8000-8002:80-81", reason: "the host and container port ranges differ in length"),
        Invalid(value: "90-80", reason: "the range \"90-80\" ends before it starts"),
        Invalid(value: "[::1:80", reason: "an IPv6 address must be written as [ADDRESS]:HOST_PORT:CONTAINER_PORT"),
    ]

    @Test(arguments: invalid)
    func rejects(_ testCase: Invalid) {
        let error = #expect(throws: RuntimeError.self) { try PortMapping.parse(testCase.value) }
        #expect(error?.kind == .invalidPortMapping(testCase.value, reason: testCase.reason))
    }

    @Test func publishAllUsesExposedPorts() throws {
        let mappings = try PortMapping.publishingAll(exposedPorts: ["80/tcp", "53/udp"])
        #expect(mappings == [PortMapping(hostPort: 0, containerPort: 80), PortMapping(hostPort: 0, containerPort: 53, proto: .udp)])
    }

    @Test func describedAsDockerPsShowsIt() {
        #expect(PortMapping(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80).description == "127.0.0.1:8080->80/tcp")
        #expect(PortMapping(hostIP: "::1", hostPort: 53, containerPort: 53, proto: .udp).description == "[::1]:53->53/udp")
    }
}
