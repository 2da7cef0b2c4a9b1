import Foundation
import KilnContainer
import Testing

/// `kiln run` end to end: a busybox image imported with `kiln import`, run under runc.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct RunTests {
    @Test func publishedPortServesHTTP() async throws {
        try await ContainerHarness.with { harness in
            let site = try harness.directory.write("site/index.html", "<h1>hello from kiln run</h1>\n")
            let port = try FreePort.find()

            let started = await harness.kiln(
                "run", "-d", "--name", "web", "-p", "127.0.0.1:\(port):80", "-v", "\((site as NSString).deletingLastPathComponent):/www:ro",
                ContainerHarness.image, "httpd", "-f", "-p", "80", "-h", "/www")
            #expect(started.status == 0, "\(started.stderr)")
            #expect(started.stdout.trimmingCharacters(in: .newlines).count == 64)

            var body: String?
            _ = await harness.eventually {
                body = fetchOverHTTP(port: port)
                return body != nil
            }
            #expect(body == "<h1>hello from kiln run</h1>\n")

            let listed = await harness.kiln("ps")
            #expect(listed.stdout.contains("127.0.0.1:\(port)->80/tcp"))
            #expect(listed.stdout.contains(" web\n"))
            #expect(listed.stdout.hasPrefix("CONTAINER ID   IMAGE"))
            let ports = await harness.kiln("port", "web", "80")
            #expect(ports.stdout == "127.0.0.1:\(port)\n")

            let removed = await harness.kiln("rm", "-f", "web")
            #expect(removed.status == 0)
            #expect(removed.stdout == "web\n")
            #expect(fetchOverHTTP(port: port) == nil)
        }
    }

    @Test func defaultNetworkInterfacesAreUp() async throws {
        try await ContainerHarness.with { harness in
            // kiln makes this namespace itself, so it also brings the loopback interface up.
            let loopback = await harness.kiln("run", "--rm", ContainerHarness.image, "ip", "-o", "link", "show", "lo")
            #expect(loopback.status == 0, "\(loopback.stderr)")
            #expect(loopback.stdout.contains("<LOOPBACK,UP"))

            let tap = await harness.kiln("run", "--rm", ContainerHarness.image, "ip", "-o", "-4", "addr", "show", "tap0")
            #expect(tap.status == 0, "\(tap.stderr)")
            #expect(tap.stdout.contains("inet 10.0.2.100/24"))
        }
    }

    @Test func addHostWritesEtcHosts() async throws {
        try await ContainerHarness.with { harness in
            let run = await harness.kiln(
                "run", "--name", "mapped", "--add-host", "db:10.0.0.5", "--add-host", "gw=host-gateway",
                ContainerHarness.image, "cat", "/etc/hosts")
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.hasSuffix("10.0.0.5\tdb\n10.0.2.2\tgw\n"), "\(run.stdout)")
            let inspected = await harness.kiln("inspect", "-f", "{{json .HostConfig.ExtraHosts}}", "mapped")
            #expect(inspected.stdout == "[\"db:10.0.0.5\",\"gw=host-gateway\"]\n", "\(inspected.stderr)")

            let resolver = await harness.kiln(
                "run", "--rm", "--dns", "192.0.2.53", "--dns-search", "corp.example", ContainerHarness.image, "cat", "/etc/resolv.conf")
            #expect(resolver.stdout.contains("nameserver 192.0.2.53\n"), "\(resolver.stdout)")
            #expect(!resolver.stdout.contains("10.0.2.3"), "\(resolver.stdout)")
            #expect(resolver.stdout.contains("search corp.example\n"), "\(resolver.stdout)")
            let badServer = await harness.kiln("run", "--rm", "--dns", "dns.example", ContainerHarness.image, "true")
            #expect(badServer.status == 125)
            #expect(badServer.stderr.contains("expected an IPv4 or IPv6 address"), "\(badServer.stderr)")

            let invalid = await harness.kiln("run", "--rm", "--add-host", "db:nowhere", ContainerHarness.image, "true")
            #expect(invalid.status == 125)
            #expect(invalid.stderr.contains("\"nowhere\" is not an IPv4 or IPv6 address"), "\(invalid.stderr)")
        }
    }

    @Test func shmSizeAndUlimits() async throws {
        try await ContainerHarness.with { harness in
            let run = await harness.kiln(
                "run", "--rm", "--shm-size", "96m", "--ulimit", "nofile=100:200", ContainerHarness.image, "sh", "-c",
                "df -k /dev/shm | tail -1; ulimit -n; ulimit -Hn")
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 3, "\(run.stdout)")
            #expect(lines.first?.split(separator: " ").dropFirst().first == "98304", "\(run.stdout)")
            #expect(lines.dropFirst().first == "100")
            #expect(lines.last == "200")

            let invalid = await harness.kiln("run", "--rm", "--ulimit", "nofile=20:10", ContainerHarness.image, "true")
            #expect(invalid.status == 125)
            #expect(invalid.stderr.contains("the soft limit 20 is above the hard limit 10"), "\(invalid.stderr)")

            // A soft limit of 0 that no container can start with is rejected before runc runs.
            let zero = await harness.kiln("run", "--rm", "--name", "zero", "--ulimit", "nofile=0", ContainerHarness.image, "true")
            #expect(zero.status == 125)
            #expect(
                zero.stderr.contains("invalid argument \"nofile=0\" for \"--ulimit\" flag: a soft limit of 0 open files"),
                "\(zero.stderr)")
            #expect(!zero.stderr.contains("runc run failed"), "\(zero.stderr)")
            // A small one still reaches runc, whose text gets a hint that names the flag.
            let small = await harness.kiln("run", "--rm", "--ulimit", "nofile=3", ContainerHarness.image, "true")
            #expect(small.status == 125)
            #expect(small.stderr.contains("hint: runc opens files under the container's nofile limit"), "\(small.stderr)")
            let detached = await harness.kiln("run", "-d", "--rm", "--ulimit", "nofile=3", ContainerHarness.image, "true")
            #expect(detached.status == 125)
            #expect(detached.stderr.contains("hint: runc opens files under the container's nofile limit"), "\(detached.stderr)")
            #expect(await harness.kiln("ps", "-aq").stdout == "")
        }
    }

    @Test func capabilitiesAndSecurityOptions() async throws {
        try await ContainerHarness.with { harness in
            let status = "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\\t' ' '"
            let standard = await harness.kiln("run", "--rm", ContainerHarness.image, "sh", "-c", status)
            #expect(standard.stdout.contains("NoNewPrivs: 0"), "\(standard.stdout)")
            #expect(standard.stdout.contains("Seccomp: 2"), "\(standard.stdout)")

            let dropped = await harness.kiln(
                "run", "--rm", "--cap-drop", "ALL", "--cap-add", "cap_net_admin", "--security-opt", "no-new-privileges",
                "--security-opt", "seccomp=unconfined", ContainerHarness.image, "sh", "-c", status)
            #expect(dropped.status == 0, "\(dropped.stderr)")
            #expect(dropped.stdout.contains("CapEff: 0000000000001000"), "\(dropped.stdout)")
            #expect(dropped.stdout.contains("NoNewPrivs: 1"), "\(dropped.stdout)")
            #expect(dropped.stdout.contains("Seccomp: 0"), "\(dropped.stdout)")

            let unknown = await harness.kiln("run", "--rm", "--cap-add", "FLY", ContainerHarness.image, "true")
            #expect(unknown.status == 125)
            #expect(unknown.stderr.contains("Linux has no such capability"), "\(unknown.stderr)")
            let profile = await harness.kiln("run", "--rm", "--security-opt", "seccomp=/tmp/p.json", ContainerHarness.image, "true")
            #expect(profile.status == 125)
            #expect(profile.stderr.contains("cannot load another one"), "\(profile.stderr)")
        }
    }

    @Test func exitStatuses() async throws {
        try await ContainerHarness.with { harness in
            let image = ContainerHarness.image

            #expect(await harness.kiln("run", "--rm", image, "true").status == 0)
            #expect(await harness.kiln("run", "--rm", image, "sh", "-c", "exit 3").status == 3)

            let notExecutable = await harness.kiln("run", "--rm", image, "/etc/passwd")
            #expect(notExecutable.status == 126)
            #expect(notExecutable.stderr.contains("\"/etc/passwd\": permission denied"))

            let notFound = await harness.kiln("run", "--rm", image, "no-such-command")
            #expect(notFound.status == 127)
            #expect(notFound.stderr.contains("\"no-such-command\": executable file not found"))
            // Without --rm, the container stays, as in Docker.
            #expect(await harness.kiln("run", "--name", "kept", image, "no-such-command").status == 127)

            let badFlag = await harness.kiln("run", "--no-such-flag", image)
            #expect(badFlag.status == 125)
            let missingImage = await harness.kiln("run", "--pull", "never", "missing:1", "true")
            #expect(missingImage.status == 125)
            #expect(missingImage.stderr.contains("No such image: missing:1"))

            let killed = await harness.kiln("run", "--rm", image, "sh", "-c", "sleep 100 & kill -9 $!; wait $!")
            #expect(killed.status == 137, "\(killed.stderr)")
            // Failed starts with --rm leave no container behind.
            #expect(await harness.kiln("ps", "-a", "--format", "{{.Names}}").stdout == "kept\n")
        }
    }

    /// As in Docker, a container whose start failed stays created, with the exit code and error
    /// recorded, unless it was started with `--rm`. `start` fails again the same way, and `rm`
    /// removes it.
    @Test func failedStartKeepsCreatedContainer() async throws {
        try await ContainerHarness.with { harness in
            let image = ContainerHarness.image
            let foreground = await harness.kiln("run", "--name", "failed", image, "no-such-command")
            #expect(foreground.status == 127)
            let detached = await harness.kiln("run", "-d", "--name", "failed-detached", image, "no-such-command")
            #expect(detached.status != 0)
            #expect(detached.stderr.contains("executable file not found"), "\(detached.stderr)")
            #expect(await harness.kiln("run", "--rm", "--name", "removed", image, "no-such-command").status == 127)
            #expect(await harness.kiln("run", "-d", "--rm", "--name", "removed-detached", image, "no-such-command").status != 0)

            let listed = await harness.kiln("ps", "-a", "--format", "{{.Names}} {{.Status}}")
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(Set(listed.stdout.split(separator: "\n")) == ["failed Created", "failed-detached Created"], "\(listed.stdout)")
            #expect(await harness.kiln("ps", "-q").stdout == "")
            for name in ["failed", "failed-detached"] {
                let state = await harness.kiln("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}", name)
                #expect(state.stdout.hasPrefix("created 127 "), "\(name): \(state.stdout)")
                #expect(state.stdout.contains("executable file not found"), "\(name): \(state.stdout)")
            }

            let started = await harness.kiln("start", "failed")
            #expect(started.status == 1)
            #expect(started.stderr.contains("executable file not found"), "\(started.stderr)")
            let attached = await harness.kiln("start", "-a", "failed-detached")
            #expect(attached.status != 0)
            let again = await harness.kiln("ps", "-a", "--format", "{{.Names}} {{.Status}}")
            #expect(Set(again.stdout.split(separator: "\n")) == ["failed Created", "failed-detached Created"], "\(again.stdout)")

            let removed = await harness.kiln("rm", "failed", "failed-detached")
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect(removed.stdout == "failed\nfailed-detached\n")
            #expect(await harness.kiln("ps", "-aq").stdout == "")
        }
    }

    /// runc prints its reason on the container's standard error, so kiln adds its own line only
    /// where that stream does not reach the user (`-d`, `start` without `-a`, `-t`).
    @Test func failedStartShowsReasonOnce() async throws {
        try await ContainerHarness.with { harness in
            let image = ContainerHarness.image
            let reason = "mkdir /etc/passwd: not a directory"
            func occurrences(_ text: String) -> Int { text.components(separatedBy: reason).count - 1 }

            let foreground = await harness.kiln("run", "--rm", "-w", "/etc/passwd", image, "true")
            #expect(foreground.status == 125)
            #expect(occurrences(foreground.stderr) == 1, "\(foreground.stderr)")

            let detached = await harness.kiln("run", "-d", "-w", "/etc/passwd", image, "true")
            #expect(detached.status == 125)
            #expect(occurrences(detached.stderr) == 1, "\(detached.stderr)")

            let terminal = await harness.kiln("run", "--rm", "-t", "-w", "/etc/passwd", image, "true")
            #expect(terminal.status == 125)
            #expect(occurrences(terminal.stderr) == 1, "\(terminal.stderr)")

            let created = await harness.kiln("create", "--name", "badcwd", "-w", "/etc/passwd", image, "true")
            #expect(created.status == 0, "\(created.stderr)")
            let started = await harness.kiln("start", "badcwd")
            #expect(started.status == 1)
            #expect(occurrences(started.stderr) == 1, "\(started.stderr)")
            let attached = await harness.kiln("start", "-a", "badcwd")
            #expect(attached.status == 1)
            #expect(occurrences(attached.stderr) == 1, "\(attached.stderr)")
        }
    }

    @Test func environmentUserAndWorkdir() async throws {
        try await ContainerHarness.with { harness in
            let envFile = try harness.directory.write("app.env", "# comment\nFROM_FILE=file value\n  INDENTED=yes\nSHARED=from-file\n")

            var kiln = harness.kiln
            kiln.environment["PASSED_THROUGH"] = "outside"
            let env = await kiln.run([
                "run", "--rm", "--env-file", envFile, "-e", "SHARED=from-flag", "-e", "PASSED_THROUGH", "-e", "UNSET_IN_KILN",
                ContainerHarness.image, "env",
            ])
            #expect(env.status == 0)
            let lines = Set(env.stdout.split(separator: "\n").map(String.init))
            #expect(lines.contains("FROM_FILE=file value"))
            #expect(lines.contains("INDENTED=yes"))
            #expect(lines.contains("SHARED=from-flag"))
            #expect(lines.contains("PASSED_THROUGH=outside"))
            #expect(!lines.contains { $0.hasPrefix("UNSET_IN_KILN") })
            #expect(lines.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
            #expect(lines.contains { $0.hasPrefix("HOSTNAME=") })

            let named = await harness.kiln("run", "--rm", "-u", "appuser", ContainerHarness.image, "id")
            #expect(named.stdout == "uid=1001(appuser) gid=1002(appgroup) groups=1002(appgroup)\n", "status \(named.status): \(named.stderr)")
            let numeric = await harness.kiln("run", "--rm", "-u", "1234:5678", ContainerHarness.image, "id", "-u")
            #expect(numeric.stdout == "1234\n", "status \(numeric.status): \(numeric.stderr)")
            let unknown = await harness.kiln("run", "--rm", "-u", "nobody-here", ContainerHarness.image, "id")
            #expect(unknown.status == 125)
            #expect(unknown.stderr.contains("unknown user \"nobody-here\""))

            let workdir = await harness.kiln("run", "--rm", "-w", "/srv/app", ContainerHarness.image, "pwd")
            #expect(workdir.stdout == "/srv/app\n")
            let relative = await harness.kiln("run", "--rm", "-w", "srv", ContainerHarness.image, "pwd")
            #expect(relative.status == 125)
        }
    }

    @Test func entrypointAndCommandCombine() async throws {
        try await ContainerHarness.with { harness in
            let image = ContainerHarness.image

            // The image's CMD is ["sh"]; a command replaces it, --entrypoint drops it.
            #expect(await harness.kiln("run", "--rm", image, "echo", "replaced").stdout == "replaced\n")
            #expect(await harness.kiln("run", "--rm", "--entrypoint", "echo", image, "a", "b").stdout == "a b\n")
            #expect(await harness.kiln("run", "--rm", "--entrypoint", "echo", image).stdout == "\n")
            let cleared = await harness.kiln("run", "--rm", "--entrypoint", "", image)
            #expect(cleared.status == 125)
            #expect(cleared.stderr.contains("No command specified"))
            #expect(await harness.kiln("run", "--rm", "--entrypoint", "", image, "echo", "ok").stdout == "ok\n")
            // Flags end at the image: -l here belongs to ls.
            #expect(await harness.kiln("run", "--rm", image, "ls", "-ld", "/tmp").stdout.hasPrefix("drwxrwxrwt"))
        }
    }

    @Test func bindMountsAndReadOnly() async throws {
        try await ContainerHarness.with { harness in
            let data = harness.directory.appending("data")
            try harness.directory.write("data/existing", "kept\n")

            let written = await harness.kiln(
                "run", "--rm", "-v", "\(data):/data", ContainerHarness.image, "sh", "-c", "cat /data/existing && echo new > /data/new")
            #expect(written.stdout == "kept\n")
            #expect((try? String(contentsOfFile: data + "/new", encoding: .utf8)) == "new\n")

            let readOnly = await harness.kiln(
                "run", "--rm", "-v", "\(data):/data:ro", ContainerHarness.image, "sh", "-c", "echo changed > /data/existing")
            #expect(readOnly.status != 0)
            #expect(readOnly.stderr.contains("Read-only file system"))
            #expect((try? String(contentsOfFile: data + "/existing", encoding: .utf8)) == "kept\n")

            let rootReadOnly = await harness.kiln("run", "--rm", "--read-only", "--tmpfs", "/scratch", ContainerHarness.image, "sh", "-c", "touch /scratch/a && touch /b")
            #expect(rootReadOnly.status != 0)
            #expect(rootReadOnly.stderr.contains("Read-only file system"))

            // A tmpfs on a path the image lacks is 1777 for any user, or the mode its options give.
            let tmpfs = await harness.kiln(
                "run", "--rm", "-u", "1000", "--tmpfs", "/newdir", "--tmpfs", "/private:mode=700,size=1m", ContainerHarness.image,
                "sh", "-c", "touch /newdir/x && stat -c %a /newdir /private")
            #expect(tmpfs.status == 0, "\(tmpfs.stderr)")
            #expect(tmpfs.stdout == "1777\n700\n")
        }
    }

    @Test func removeOptionCleansEverything() async throws {
        try await ContainerHarness.with { harness in

            let foreground = await harness.kiln("run", "--rm", "-v", "/anonymous", ContainerHarness.image, "sh", "-c", "echo x > /anonymous/f")
            #expect(foreground.status == 0)
            // The directories leave `containers` and `work` before kiln returns, and a background
            // `rm` removes them from the trash.
            #expect(harness.entries("containers") == [])
            #expect(harness.entries("work") == [])
            #expect(harness.mountsBelowRoot() == [])
            #expect(await harness.kiln("ps", "-aq").stdout == "")
            let detached = await harness.kiln("run", "-d", "--rm", ContainerHarness.image, "sh", "-c", "sleep 0.3")
            #expect(detached.status == 0)
            let id = detached.stdout.trimmingCharacters(in: .newlines)

            // The monitor deletes the record first and the folders after it.
            let gone = await harness.eventually {
                await harness.kiln("ps", "-aq").stdout.isEmpty && harness.entries("containers").isEmpty
            }
            #expect(gone)
            #expect(harness.entries("containers") == [])
            #expect(harness.entries("work") == [])
            #expect(harness.entries("volumes") == [])
            #expect(harness.mountsBelowRoot() == [])
            #expect(await harness.eventually { harness.entries("trash").isEmpty })
            let runcState = try await Command.status("runc", ["--root", harness.root + "/runc", "state", id])
            #expect(runcState.status != 0)
        }
    }

    /// `run` skips the lease when every snapshot has a record. A snapshot directory without its
    /// record must not count, because garbage collection would not keep it for the container.
    @Test func snapshotWithoutRecordIsCommittedAgain() async throws {
        try await ContainerHarness.with { harness in
            let database = harness.root + "/kiln.db"
            let first = await harness.kiln("run", "--rm", ContainerHarness.image, "true")
            #expect(first.status == 0, "\(first.stderr)")
            let recorded = try await Command.run("sqlite3", [database, "SELECT chain_id FROM snapshots"])
            #expect(!recorded.isEmpty)

            try await Command.run("sqlite3", [database, "DELETE FROM snapshots"])
            let second = await harness.kiln("run", "--rm", ContainerHarness.image, "true")
            #expect(second.status == 0, "\(second.stderr)")
            await #expect(try Command.run("sqlite3", [database, "SELECT chain_id FROM snapshots"]) == recorded)
        }
    }

    @Test func stopEscalatesToKill() async throws {
        try await ContainerHarness.with { harness in
            // The shell ignores SIGTERM, so only SIGKILL ends it.
            let started = await harness.kiln(
                "run", "-d", "--name", "stubborn", ContainerHarness.image, "sh", "-c", "trap '' TERM; while true; do sleep 0.1; done")
            #expect(started.status == 0)

            let begin = Date()
            let stopped = await harness.kiln("stop", "-t", "2", "stubborn")
            let elapsed = Date().timeIntervalSince(begin)
            #expect(stopped.status == 0)
            #expect(stopped.stdout == "stubborn\n")
            #expect(elapsed >= 2)
            #expect(elapsed < 8)
            let state = await harness.kiln("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "stubborn")
            #expect(state.stdout == "exited 137\n")
            #expect(await harness.kiln("ps", "-a").stdout.contains("Exited (137)"))
        }
    }

    @Test func removeRunningNeedsForce() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "-d", "--name", "busy", ContainerHarness.image, "sleep", "1000").status == 0)

            let refused = await harness.kiln("rm", "busy")
            #expect(refused.status == 1)
            #expect(refused.stderr.hasPrefix("error: cannot remove container \"/busy\": container is running"))
            let recordBusy = try harness.container("busy")
            #expect(recordBusy?.status == .running)

            let forced = await harness.kiln("rm", "-f", "busy")
            #expect(forced.status == 0)
            let removedBusy = try harness.container("busy")
            #expect(removedBusy == nil)
            #expect(harness.mountsBelowRoot() == [])
        }
    }

    @Test func takenNameIsRejected() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "--name", "only", ContainerHarness.image, "true").status == 0)
            let id = try #require(try harness.container("only")).id

            let second = await harness.kiln("run", "--name", "only", ContainerHarness.image, "true")
            #expect(second.status == 125)
            #expect(
                second.stderr
                    == "error: Conflict. The container name \"/only\" is already in use by container \"\(id)\". You have to remove (or rename) that container to be able to reuse that name.\n"
            )
            #expect(await harness.kiln("ps", "-aq").stdout.split(separator: "\n").count == 1)
        }
    }

    /// Unlike a start that fails for another reason, a taken port leaves no container behind, so
    /// the same `kiln run` works once the port is free.
    @Test func takenPortLeavesNothingBehind() async throws {
        try await ContainerHarness.with { harness in
            let listener = try occupyLoopbackPort()
            defer { close(listener.fd) }

            for detach in [false, true] {
                for remove in [false, true] {
                    let result = await harness.kiln.run(
                        ["run"] + (detach ? ["-d"] : []) + (remove ? ["--rm"] : [])
                            + ["-p", "127.0.0.1:\(listener.port):80", ContainerHarness.image, "httpd", "-f", "-p", "80"])
                    #expect(result.status == 125)
                    #expect(result.stderr.contains("cannot publish port 127.0.0.1:\(listener.port)/tcp: the address is already in use"))
                    #expect(result.stdout == "")
                }
            }
            #expect(await harness.kiln("ps", "-aq").stdout == "")
            #expect(harness.entries("containers") == [])
            #expect(harness.entries("work") == [])
            #expect(harness.mountsBelowRoot() == [])
            let runcList = try await Command.run("runc", ["--root", harness.root + "/runc", "list", "-q"])
            #expect(runcList == "")
        }
    }
}
