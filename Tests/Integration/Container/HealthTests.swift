import Foundation
import Testing

/// HEALTHCHECK of an image, run by the container's background monitor.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct HealthTests {
    /// Loads the busybox tree as `health:test`, a docker-archive whose config has a health check
    /// that passes while /tmp/healthy exists, every 200 ms, unhealthy after 2 failures. Failures in
    /// the first 10 minutes (the start period) do not count until a check has passed, so the
    /// container is still starting when a slow machine gets to the first `kiln ps`, and becomes
    /// unhealthy once it was healthy, as Docker's start period works.
    static func loadImage(_ harness: ContainerHarness) async throws {
        let archive = harness.directory.appending("archive")
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: harness.directory.appending("busybox.tar"), toPath: archive + "/layer.tar")
        let digest = try await Command.run("/usr/bin/sha256sum", [archive + "/layer.tar"]).prefix(64)
        #if arch(arm64)
            let architecture = "arm64"
        #else
            let architecture = "amd64"
        #endif
        try Data(
            """
            {"architecture":"\(architecture)","os":"linux","config":{"Cmd":["sleep","1000"],
             "Healthcheck":{"Test":["CMD-SHELL","test -f /tmp/healthy"],"Interval":200000000,"Timeout":2000000000,"Retries":2,
             "StartPeriod":600000000000}},
             "rootfs":{"type":"layers","diff_ids":["sha256:\(digest)"]}}
            """.utf8
        ).write(to: URL(fileURLWithPath: archive + "/config.json"))
        try Data(#"[{"Config":"config.json","RepoTags":["health:test"],"Layers":["layer.tar"]}]"#.utf8)
            .write(to: URL(fileURLWithPath: archive + "/manifest.json"))
        try await Command.run("/bin/tar", ["-C", archive, "-cf", harness.directory.appending("health.tar"), "manifest.json", "config.json", "layer.tar"])
        let loaded = await harness.kiln("load", "-i", harness.directory.appending("health.tar"))
        #expect(loaded.status == 0, "\(loaded.stderr)")
    }

    @Test func healthFollowsTheCheck() async throws {
        try await ContainerHarness.with { harness in
            try await Self.loadImage(harness)
            #expect(await harness.kiln("run", "-d", "--name", "checked", "health:test").status == 0)
            let listed = await harness.kiln("ps", "-a", "--format", "{{.Status}}")
            #expect(listed.stdout.contains("(health: starting)"), "ps: \(listed.stdout) \(listed.stderr)")

            _ = await harness.kiln("exec", "checked", "touch", "/tmp/healthy")
            let healthy = await harness.eventually {
                await harness.kiln("ps", "--format", "{{.Status}}").stdout.contains("(healthy)")
            }
            #expect(healthy)
            #expect(await harness.kiln("ps", "--filter", "health=healthy", "-q").stdout.count == 13)

            _ = await harness.kiln("exec", "checked", "rm", "/tmp/healthy")
            let unhealthy = await harness.eventually(60) {
                await harness.kiln("ps", "--format", "{{.Status}}").stdout.contains("(unhealthy)")
            }
            #expect(unhealthy)
            let state = await harness.kiln("inspect", "-f", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}", "checked")
            #expect(state.stdout.hasPrefix("unhealthy "))
        }
    }

    /// `Config.Healthcheck` shows what the image and the flags set, without the defaults that
    /// the monitor uses (a 5 s start interval here), as Docker shows it.
    @Test func inspectShowsConfiguredHealthcheck() async throws {
        try await ContainerHarness.with { harness in
            try await Self.loadImage(harness)
            let created = await harness.kiln("create", "--name", "configured", "--health-retries", "4", "health:test")
            #expect(created.status == 0, "\(created.stderr)")
            let check = await harness.kiln("inspect", "-f", "{{json .Config.Healthcheck}}", "configured")
            #expect(
                check.stdout
                    == #"{"Test":["CMD-SHELL","test -f /tmp/healthy"],"Interval":200000000,"Timeout":2000000000,"StartPeriod":600000000000,"Retries":4}"#
                    + "\n", "\(check.stderr)")
        }
    }

    @Test func healthFlagsReplaceTheImageCheck() async throws {
        try await ContainerHarness.with { harness in
            try await Self.loadImage(harness)
            // The image's check needs /tmp/healthy; the flag's passes at once.
            let started = await harness.kiln(
                "run", "-d", "--name", "flagged", "--health-cmd", "true", "--health-interval", "200ms", "--health-start-period", "0s",
                "health:test")
            #expect(started.status == 0, "\(started.stderr)")
            let healthy = await harness.eventually {
                await harness.kiln("ps", "--filter", "name=flagged", "--format", "{{.Status}}").stdout.contains("(healthy)")
            }
            #expect(healthy)
            let test = await harness.kiln("inspect", "-f", "{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Retries}}", "flagged")
            #expect(test.stdout == "[\"CMD-SHELL\",\"true\"] 2\n", "\(test.stderr)")

            // Empty and zero values count as not given, as in Docker: the image's check stays.
            #expect(await harness.kiln("create", "--name", "kept", "--health-cmd", "", "--health-interval", "0s", "health:test").status == 0)
            let imageCheck = await harness.kiln("inspect", "-f", "{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}}", "kept")
            #expect(
                imageCheck.stdout == "[\"CMD-SHELL\",\"test -f /tmp/healthy\"] 200000000\n", "\(imageCheck.stdout) \(imageCheck.stderr)")

            let conflict = await harness.kiln("run", "-d", "--no-healthcheck", "--health-cmd", "true", "health:test")
            #expect(conflict.status == 125)
            #expect(conflict.stderr.contains("Conflicting options: --no-healthcheck and --health-*"), "\(conflict.stderr)")
            let negative = await harness.kiln("run", "-d", "--health-interval", "-1s", "health:test")
            #expect(negative.status == 125)
            #expect(negative.stderr.contains("expected a duration that is not negative"), "\(negative.stderr)")
        }
    }
}
