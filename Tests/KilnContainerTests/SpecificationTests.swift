import Foundation
import KilnContainer
import Testing

struct EnvironmentFileTests {
    @Test func parsesDockerRules() throws {
        let text = "# comment\n\n  A=1\nB=with spaces and \"quotes\"\nFROM_HOST\nMISSING\r\nC=\n"
        let entries = try EnvironmentFile.parse(text, path: "app.env", environment: ["FROM_HOST": "h"])
        #expect(entries == ["A=1", "B=with spaces and \"quotes\"", "FROM_HOST=h", "C="])
    }

    @Test func rejectsWhitespaceInName() {
        let error = #expect(throws: ContainerError.self) {
            try EnvironmentFile.parse("BAD NAME=1\n", path: "app.env", environment: [:])
        }
        #expect(error?.description == "invalid argument \"app.env:1\" for \"--env-file\" flag: variable 'BAD NAME' contains whitespaces")
    }
}

struct NameGeneratorTests {
    @Test func namesHaveDockerShape() {
        for _ in 0..<200 {
            let name = NameGenerator.name()
            #expect(name.split(separator: "_").count == 2)
            #expect(NameGenerator.isValid(name))
            #expect(name != "boring_wozniak")
        }
    }

    @Test func validatesNames() {
        #expect(NameGenerator.isValid("web-1.a_b"))
        #expect(!NameGenerator.isValid("-web"))
        #expect(!NameGenerator.isValid("a"))
        #expect(!NameGenerator.isValid("we b"))
        #expect(!NameGenerator.isValid("web/1"))
    }
}

struct SignalTests {
    @Test(arguments: [("SIGTERM", SIGTERM), ("term", SIGTERM), ("KILL", SIGKILL), ("9", SIGKILL), ("SIGRTMIN+1", 35)])
    func knownSignals(name: String, number: Int32) {
        #expect(Signals.number(name) == number)
    }

    @Test func unknownSignals() {
        #expect(Signals.number("SIGNOPE") == nil)
        #expect(Signals.number("0") == nil)
        #expect(Signals.number("65") == nil)
    }
}

struct ByteSizeTests {
    @Test func parsesUnits() {
        #expect(ByteSize.parse("10m") == 10 << 20)
        #expect(ByteSize.parse("4k") == 4096)
        #expect(ByteSize.parse("1g") == 1 << 30)
        #expect(ByteSize.parse("123") == 123)
        #expect(ByteSize.parse("ten") == nil)
    }
}

struct HealthcheckTests {
    @Test func processArguments() {
        var check = HealthcheckSpecification(
            test: ["CMD-SHELL", "wget -q -O- localhost"], interval: 1, timeout: 1, startPeriod: 0, startInterval: 1, retries: 1)
        #expect(check.processArguments == ["/bin/sh", "-c", "wget -q -O- localhost"])
        check.test = ["CMD", "true", "x"]
        #expect(check.processArguments == ["true", "x"])
        check.test = ["NONE"]
        #expect(check.processArguments == nil)
    }
}

struct DockerTimeTests {
    @Test func formatsNanoseconds() {
        #expect(DockerTime.format(nil) == "0001-01-01T00:00:00Z")
        #expect(DockerTime.format(0) == "1970-01-01T00:00:00Z")
        #expect(DockerTime.format(1.5) == "1970-01-01T00:00:01.5Z")
    }
}

struct MountSpecificationTests {
    @Test func oldRecordDecodesWithCopy() throws {
        let stored = #"{"kind":"volume","source":"data","destination":"/data","readOnly":false,"anonymous":false,"options":[]}"#
        let mount = try JSONDecoder().decode(MountSpecification.self, from: Data(stored.utf8))
        #expect(mount.noCopy == false)
        #expect(mount.source == "data")
    }

    @Test func noCopyRoundTrips() throws {
        let mount = MountSpecification(kind: .volume, source: "data", destination: "/data", noCopy: true)
        let decoded = try JSONDecoder().decode(MountSpecification.self, from: try JSONEncoder().encode(mount))
        #expect(decoded == mount)
    }
}

@testable import KilnContainer

/// `--tmpfs` and `--mount type=tmpfs` options, checked before runc runs.
@Suite struct TmpfsOptionTests {
    @Test(arguments: ["size=64m", "mode=1777", "mode=0700,size=10%", "nr_inodes=1k,uid=1000,gid=1000", "noexec,nosuid,ro", "size=0"])
    func validOptionsPass(_ options: String) throws {
        let mount = try MountParser.tmpfs("/scratch:" + options)
        #expect(mount.options == options.split(separator: ",").map(String.init))
    }

    @Test(arguments: [
        ("mode=abc", "invalid tmpfs mode \"abc\""), ("mode=99999", "invalid tmpfs mode \"99999\""),
        ("mode=-1", "invalid tmpfs mode \"-1\""), ("size=-5", "invalid tmpfs size \"-5\""),
        ("size=1x", "invalid tmpfs size \"1x\""), ("nosuchopt", "unknown tmpfs option \"nosuchopt\""),
        ("uid=root", "invalid tmpfs uid \"root\""),
    ])
    func invalidOptionsNameTheOption(_ options: String, _ expected: String) {
        #expect {
            try MountParser.tmpfs("/t:" + options)
        } throws: { error in
            "\(error)".contains(expected) || ((error as? ContainerError)?.diagnostic.message.contains(expected) ?? false)
        }
        #expect {
            try MountParser.mount("type=tmpfs,target=/t,tmpfs-\(options.hasPrefix("size") ? "size" : "mode")=\(options.split(separator: "=").last ?? "")", workingDirectory: "/")
        } throws: { _ in true }
    }
}

@Suite struct MountFieldTests {
    /// A field without a key once indexed an empty array and stopped kiln with SIGILL.
    @Test(arguments: ["=", "type=bind,=,", "=x,target=/t", "target=/t,=ro"])
    func fieldWithoutKeyIsRejected(_ value: String) {
        #expect {
            try MountParser.mount(value, workingDirectory: "/")
        } throws: { error in
            (error as? ContainerError)?.diagnostic.message.contains("has no key; write key=value") ?? false
        }
    }

    /// Docker's CLI reads `--mount` as one CSV record, so a quoted source may contain a comma.
    @Test func quotedFieldKeepsComma() throws {
        let directory = NSTemporaryDirectory() + "kiln-mount-a,b-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let mount = try MountParser.mount("type=bind,\"source=\(directory)\",target=/t", workingDirectory: "/")
        #expect(mount.source == directory)
        #expect {
            try MountParser.mount("type=bind,source=\"/a,target=/t", workingDirectory: "/")
        } throws: { error in
            (error as? ContainerError)?.diagnostic.message.contains("bare \" in non-quoted field") ?? false
        }
    }

    @Test func emptyFieldsBetweenCommasAreSkipped() throws {
        let mount = try MountParser.mount("type=tmpfs,,target=/t,", workingDirectory: "/")
        #expect(mount.destination == "/t")
    }
}

@Suite struct SecurityOptionTests {
    @Test(arguments: [
        (["no-new-privileges"], true, true), (["no-new-privileges:true"], true, true),
        (["no-new-privileges=false"], false, true), (["seccomp=unconfined"], false, false),
        (["no-new-privileges", "seccomp:unconfined"], true, false), ([], false, true),
    ])
    func parsesDockerForms(_ values: [String], _ noNewPrivileges: Bool, _ seccomp: Bool) throws {
        let options = try SecurityOptions(parsing: values)
        #expect(options.noNewPrivileges == noNewPrivileges)
        #expect(options.seccomp == seccomp)
    }

    @Test(arguments: ["no-new-privileges=maybe", "seccomp=default.json", "apparmor=unconfined", "label=disable", "privileged"])
    func rejectsWhatKilnCannotApply(_ value: String) {
        #expect(throws: ContainerError.self) { try SecurityOptions(parsing: [value]) }
    }

    @Test func capabilityNamesAreChecked() throws {
        try SecurityOptions.checkCapabilities(adding: ["NET_ADMIN", "cap_sys_time", "ALL"], dropping: ["all", "CHOWN"])
        #expect(throws: ContainerError.self) { try SecurityOptions.checkCapabilities(adding: ["FLY"], dropping: []) }
        #expect(throws: ContainerError.self) { try SecurityOptions.checkCapabilities(adding: [], dropping: ["NET"]) }
    }

    /// Docker accepts `ALL` in any case, but only without the `CAP_` prefix.
    @Test(arguments: ["CAP_ALL", "cap_all", " Cap_All "])
    func prefixedAllIsRejected(_ name: String) {
        let added = #expect(throws: ContainerError.self) { try SecurityOptions.checkCapabilities(adding: [name], dropping: []) }
        #expect(
            added?.diagnostic.message
                == "invalid argument \"\(name)\" for \"--cap-add\" flag: unknown capability; write ALL, without the CAP_ prefix, for every capability"
        )
        let dropped = #expect(throws: ContainerError.self) { try SecurityOptions.checkCapabilities(adding: [], dropping: [name]) }
        #expect(dropped?.diagnostic.message.contains("for \"--cap-drop\" flag") == true)
    }

    @Test func capabilityOutsideBoundingSetIsRejected() throws {
        let bounding = ["CHOWN", "NET_ADMIN"]
        try SecurityOptions.checkCapabilities(adding: ["ALL", "net_admin"], dropping: ["SYS_RESOURCE"], bounding: bounding)
        let error = #expect(throws: ContainerError.self) {
            try SecurityOptions.checkCapabilities(adding: ["CHOWN", "cap_sys_resource"], dropping: [], bounding: bounding)
        }
        #expect(
            error?.diagnostic.message
                == "invalid argument \"cap_sys_resource\" for \"--cap-add\" flag: kiln itself lacks CAP_SYS_RESOURCE (it is not in its capability bounding set), so no container it starts can have it; run kiln where it has CAP_SYS_RESOURCE, or leave out this --cap-add"
        )
    }
}
