import Testing

@testable import KilnDockerfile

@Suite struct ValueTests {
    @Test func goDurations() {
        let cases: [(String, Int64?)] = [
            ("0", 0), ("30s", 30_000_000_000), ("1m30s", 90_000_000_000), ("1.5h", 5_400_000_000_000),
            ("250ms", 250_000_000), ("10us", 10_000), ("10µs", 10_000), ("10μs", 10_000), ("7ns", 7),
            (".5s", 500_000_000), ("1.s", 1_000_000_000), ("-1s", -1_000_000_000), ("+2m", 120_000_000_000),
            ("30", nil), ("", nil), ("s", nil), (".s", nil), ("1d", nil), ("1s2", nil), ("9999999999h", nil),
            ("2562047h47m16.854775807s", 9_223_372_036_854_775_807), ("2562047h47m16.854775808s", nil),
        ]
        for (text, expected) in cases {
            #expect(GoDuration(parsing: text)?.nanoseconds == expected, "\(text)")
        }
    }

    @Test func fileModes() {
        #expect(FileMode(parsing: "755") == .octal(0o755))
        #expect(FileMode(parsing: "0644") == .octal(0o644))
        #expect(FileMode(parsing: "4755") == .octal(0o4755))
        #expect(FileMode(parsing: "u=rwx,go=rx") == .symbolic("u=rwx,go=rx"))
        #expect(FileMode(parsing: "a+x") == .symbolic("a+x"))
        #expect(FileMode(parsing: "+x") == .symbolic("+x"))
        #expect(FileMode(parsing: "g=u") == .symbolic("g=u"))
        #expect(FileMode(parsing: "u+x-w") == .symbolic("u+x-w"))
        #expect(FileMode(parsing: "7777") == .octal(0o7777))
        #expect(FileMode(parsing: "00007777") == .octal(0o7777))
        // BuildKit rejects octal modes above 07777; chmod(2) would drop the extra bits.
        for invalid in ["", "789", "rwxr-xr-x", "u", "u=rwz", "x+u", "u=rw,", "17777", "10000", "+755", "-0"] {
            #expect(FileMode(parsing: invalid) == nil, "\(invalid)")
        }
    }

    @Test func exposedPorts() throws {
        #expect(try ExposedPort(parsing: "80").configKey == "80/tcp")
        #expect(try ExposedPort(parsing: "53/udp").configKey == "53/udp")
        #expect(try ExposedPort(parsing: "8000-8010/sctp").configKey == "8000-8010/sctp")
        #expect(try ExposedPort(parsing: "80-80").configKey == "80/tcp")
        #expect(try ExposedPort(parsing: "80/").configKey == "80/tcp")
        #expect(try ExposedPort(parsing: "80/TCP").hadUppercaseProtocol)
        #expect(try ExposedPort(parsing: "127.0.0.1:8080:80").hadHostPart)
        #expect(try ExposedPort(parsing: "[::1]:8080:80/udp").configKey == "80/udp")
        for invalid in ["", "/tcp", "http", "65536", "-1", "80/icmp", "90-80", "80-", "1:2:"] {
            #expect(throws: PortFailure.self, "\(invalid)") { try ExposedPort(parsing: invalid) }
        }
    }

    @Test func stopSignals() {
        for valid in ["SIGTERM", "TERM", "term", "sigkill", "9", "RTMIN", "SIGRTMIN+3", "RTMAX-1", "-1"] {
            #expect(StopSignal.isValid(valid), "\(valid)")
        }
        for invalid in ["0", "SIGFOO", "", "RTMIN+16", "SIG"] {
            #expect(!StopSignal.isValid(invalid), "\(invalid)")
        }
    }

    @Test func checksums() {
        #expect(Checksum.isValid("sha256:" + String(repeating: "a", count: 64)))
        #expect(Checksum.isValid("sha512:" + String(repeating: "0", count: 128)))
        #expect(!Checksum.isValid("sha256:" + String(repeating: "A", count: 64)))
        #expect(!Checksum.isValid("sha256:abc"))
        #expect(!Checksum.isValid("md5:" + String(repeating: "a", count: 32)))
        #expect(!Checksum.isValid("abc"))
    }

    @Test func byteSizes() {
        #expect(ByteSize.parse("1024") == 1024)
        #expect(ByteSize.parse("64m") == Int64(67_108_864))
        #expect(ByteSize.parse("1.5g") == 1_610_612_736)
        #expect(ByteSize.parse("2KiB") == 2048)
        #expect(ByteSize.parse("3mb") == Int64(3_145_728))
        #expect(ByteSize.parse("big") == nil)
        #expect(ByteSize.parse("1x") == nil)
    }

    @Test func heredocChompRemovesLeadingTabs() {
        let heredoc = Heredoc(name: "EOF", content: "\t\ta\n\tb\n c\n", stripsLeadingTabs: true)
        #expect(heredoc.effectiveContent == "a\nb\n c\n")
        let kept = Heredoc(name: "EOF", content: "\ta\n")
        #expect(kept.effectiveContent == "\ta\n")
    }

    @Test func commandFormArguments() {
        #expect(CommandForm.shell("echo hi").arguments() == ["/bin/sh", "-c", "echo hi"])
        #expect(CommandForm.shell("x").arguments(shell: ["pwsh", "-Command"]) == ["pwsh", "-Command", "x"])
        #expect(CommandForm.exec(["a", "b"]).arguments() == ["a", "b"])
    }
}
