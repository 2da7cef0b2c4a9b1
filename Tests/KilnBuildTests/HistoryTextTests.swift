import KilnImage
import Testing

@testable import KilnBuild

struct HistoryTextTests {
    @Test(arguments: [
        (Int64(0), "0s"), (1, "1ns"), (1_500, "1.5µs"), (250_000_000, "250ms"), (1_000_000_000, "1s"),
        (1_500_000_000, "1.5s"), (90_000_000_000, "1m30s"), (3_600_000_000_000, "1h0m0s"),
        (3_723_000_000_000, "1h2m3s"), (-2_000_000_000, "-2s"),
    ])
    func goDurations(_ nanoseconds: Int64, _ expected: String) {
        #expect(GoFormat.duration(nanoseconds: nanoseconds) == expected)
    }

    @Test func goQuoting() {
        #expect(GoFormat.quoted("a \"b\" \\ c\n\t") == "\"a \\\"b\\\" \\\\ c\\n\\t\"")
        #expect(GoFormat.quoted("é名") == "\"é名\"")
        #expect(GoFormat.quoted("\u{1}") == "\"\\x01\"")
        #expect(GoFormat.quotedList(["echo", "a b"]) == "[\"echo\" \"a b\"]")
        #expect(GoFormat.quotedCharacter(3) == "'\\x03'")
        #expect(GoFormat.quotedCharacter(65) == "'A'")
    }

    @Test func buildKitShapes() {
        var check = Healthcheck(test: ["CMD", "true"])
        check.interval = 30_000_000_000
        check.retries = 3
        #expect(HistoryText.healthcheck(check) == "HEALTHCHECK &{[\"CMD\" \"true\"] \"30s\" \"0s\" \"0s\" \"0s\" '\\x03'}")
        #expect(HistoryText.expose(["80/tcp", "443/udp", "80/tcp"]) == "EXPOSE map[443/udp:{} 80/tcp:{}]")
        #expect(HistoryText.volume(["/a", "/b"]) == "VOLUME [/a /b]")
        #expect(HistoryText.shell(["/bin/bash", "-c"]) == "SHELL [/bin/bash -c]")
        #expect(HistoryText.command("CMD", ["echo", "hi"]) == "CMD [\"echo\" \"hi\"]")
        #expect(
            HistoryText.run(arguments: ["/bin/sh", "-c", "make"], buildArguments: [("A", "1"), ("B", "2")])
                == "RUN |2 A=1 B=2 /bin/sh -c make # buildkit")
        #expect(HistoryText.run(arguments: ["make"], buildArguments: []) == "RUN make # buildkit")
    }
}
