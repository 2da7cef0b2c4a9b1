import Foundation
import KilnContainer
import KilnStore
import Testing

/// `kiln volume` and the volume and container rows of `kiln system df`, against real containers.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct VolumeCommandTests {
    /// An empty label name is an error everywhere Docker rejects it, and so is a driver option,
    /// which kiln does not support. Nothing is created.
    @Test func badLabelsAndOptionsAreRejected() async throws {
        try await ContainerHarness.with { harness in
            let image = ContainerHarness.image
            let volume = await harness.kiln("volume", "create", "--label", "=x", "labelled")
            #expect(volume.status == 125)
            #expect(volume.stderr.contains("invalid value \"=x\" for --label: the label name is empty"), "\(volume.stderr)")
            let spaced = await harness.kiln("volume", "create", "--label", "a b=x", "labelled")
            #expect(spaced.status == 125)
            #expect(spaced.stderr.contains("the label name \"a b\" contains whitespace"), "\(spaced.stderr)")
            let option = await harness.kiln("volume", "create", "-o", "type=tmpfs", "--opt", "device=tmpfs", "optioned")
            #expect(option.status == 125)
            #expect(option.stderr.contains("invalid value \"type=tmpfs\" for --opt: driver options are not supported"), "\(option.stderr)")
            #expect(await harness.kiln("volume", "ls", "-q").stdout == "")

            let run = await harness.kiln("run", "--rm", "-l", "=x", image, "true")
            #expect(run.status == 125)
            #expect(run.stderr.contains("invalid value \"=x\" for --label"), "\(run.stderr)")
            let created = await harness.kiln("create", "--label", " =x", image, "true")
            #expect(created.status == 125)
            #expect(await harness.kiln("ps", "-aq").stdout == "")

            try harness.directory.write("context/Dockerfile", "FROM \(image)\n")
            let build = await harness.kiln("build", "--label", "=x", harness.directory.appending("context"))
            #expect(build.status == 125)
            #expect(build.stderr.contains("invalid value \"=x\" for --label"), "\(build.stderr)")

            let tarball = harness.directory.appending("busybox.tar")
            let imported = await harness.kiln("import", "--change", "LABEL =x", tarball, "labelled:1")
            #expect(imported.status == 1)
            #expect(imported.stderr.contains("\"=x\" is not KEY=VALUE"), "\(imported.stderr)")
            #expect(await harness.kiln("images", "-q", "labelled").stdout == "")
        }
    }

    @Test func deepTreesAndLongNamesAreRemoved() async throws {
        try await ContainerHarness.with { harness in
            // A 255-character name is valid, and its removal name must still fit in NAME_MAX.
            let long = String(repeating: "a", count: 255)
            #expect(await harness.kiln("volume", "create", long).status == 0)
            let removedLong = await harness.kiln("volume", "rm", long)
            #expect(removedLong.status == 0, "\(removedLong.stderr)")

            // A tree deeper than PATH_MAX, as a container can make with mv: sized and removed.
            #expect(await harness.kiln("volume", "create", "deep").status == 0)
            var directory = open(harness.root + "/volumes/deep/_data", O_RDONLY | O_DIRECTORY)
            try #require(directory >= 0)
            let component = String(repeating: "d", count: 200)
            for _ in 0..<30 {
                try #require(mkdirat(directory, component, 0o755) == 0)
                let next = openat(directory, component, O_RDONLY | O_DIRECTORY)
                close(directory)
                directory = next
                try #require(directory >= 0)
            }
            let file = openat(directory, "f", O_CREAT | O_WRONLY, 0o644)
            #expect(write(file, [UInt8](repeating: 1, count: 1000), 1000) == 1000)
            close(file)
            close(directory)
            let usage = await harness.kiln("system", "df", "-v")
            #expect(usage.stdout.split(separator: "\n").contains { $0.hasPrefix("deep ") && $0.hasSuffix("1kB") }, "\(usage.stdout)")
            let removed = await harness.kiln("volume", "rm", "deep")
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: harness.root + "/volumes")) ?? [] == [])
            #expect((try? FileManager.default.contentsOfDirectory(atPath: harness.root + "/trash")) ?? [] == [])
        }
    }

    @Test func createListInspectRemove() async throws {
        try await ContainerHarness.with { harness in
            let created = await harness.kiln("volume", "create", "--label", "team=web", "data")
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout == "data\n")
            // Creating a name that exists is not an error, keeps the first labels and makes a
            // missing `_data` again.
            try FileManager.default.removeItem(atPath: harness.root + "/volumes/data")
            let again = await harness.kiln("volume", "create", "--label", "team=db", "data")
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout == "data\n")
            #expect(FileManager.default.fileExists(atPath: harness.root + "/volumes/data/_data"))

            let random = await harness.kiln("volume", "create")
            #expect(random.status == 0, "\(random.stderr)")
            let randomName = random.stdout.trimmingCharacters(in: .newlines)
            #expect(randomName.count == 64)
            let isHex = randomName.allSatisfy { $0.isHexDigit }
            #expect(isHex)

            let listed = await harness.kiln("volume", "ls")
            #expect(listed.status == 0, "\(listed.stderr)")
            let expectedRows = [randomName, "data"].sorted().map { "local     \($0)\n" }.joined()
            #expect(listed.stdout == "DRIVER    VOLUME NAME\n" + expectedRows)
            let labelled = await harness.kiln("volume", "ls", "-q", "--filter", "label=team=web")
            #expect(labelled.stdout == "data\n")

            let inspected = await harness.kiln("volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Mountpoint}} {{.Labels.team}}", "data")
            #expect(inspected.status == 0, "\(inspected.stderr)")
            #expect(inspected.stdout == "data local \(harness.root)/volumes/data/_data web\n")
            #expect(FileManager.default.fileExists(atPath: harness.root + "/volumes/data/_data"))

            let missing = await harness.kiln("volume", "rm", "data", "nosuch")
            #expect(missing.status == 1)
            #expect(missing.stdout == "data\n")
            #expect(missing.stderr.contains("error: get nosuch: no such volume"))
            let forced = await harness.kiln("volume", "rm", "-f", "nosuch", randomName)
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(forced.stdout == randomName + "\n")
            #expect(await harness.kiln("volume", "ls", "-q").stdout == "")
            #expect(harness.entries("volumes") == [])
        }
    }

    @Test func removeRefusedWhileContainerUsesVolume() async throws {
        try await ContainerHarness.with { harness in
            let ran = await harness.kiln("run", "--name", "writer", "-v", "kept:/data", ContainerHarness.image, "sh", "-c", "echo hi > /data/file")
            #expect(ran.status == 0, "\(ran.stderr)")
            let id = try #require(try harness.container("writer")).id

            // A stopped container still uses its volume, as in Docker.
            let rejected = await harness.kiln("volume", "rm", "kept")
            #expect(rejected.status == 1)
            #expect(rejected.stderr.contains("error: remove kept: volume is in use - [\(id)]"))
            #expect(FileManager.default.fileExists(atPath: harness.root + "/volumes/kept/_data/file"))
            let pruned = await harness.kiln("volume", "prune", "-af")
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(pruned.stdout == "Total reclaimed space: 0B\n")
            let dangling = await harness.kiln("volume", "ls", "-q", "--filter", "dangling=true")
            #expect(dangling.stdout == "")

            #expect(await harness.kiln("rm", "writer").status == 0)
            #expect(await harness.kiln("volume", "ls", "-q", "--filter", "dangling=true").stdout == "kept\n")
            let removed = await harness.kiln("volume", "rm", "kept")
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect(harness.entries("volumes") == [])
        }
    }

    /// Without `-a` only anonymous volumes go, and never one that a container uses.
    @Test func pruneRemovesUnusedAnonymousVolumes() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "--name", "gone", "-v", "/scratch", ContainerHarness.image, "sh", "-c", "echo 12345 > /scratch/f").status == 0)
            #expect(await harness.kiln("run", "--name", "stays", "-v", "/other", ContainerHarness.image, "true").status == 0)
            #expect(await harness.kiln("volume", "create", "named").status == 0)
            let anonymousName = try #require(try harness.container("gone")?.specification.mounts.first?.source)
            let stays = try #require(try harness.container("stays")?.specification.mounts.first?.source)
            let inspected = await harness.kiln("volume", "inspect", "--format", "{{json .Labels}}", anonymousName)
            #expect(inspected.stdout == "{\"com.docker.volume.anonymous\":\"\"}\n")

            // `rm` without `-v` leaves the anonymous volume behind.
            #expect(await harness.kiln("rm", "gone").status == 0)
            let pruned = await harness.kiln("volume", "prune", "-f")
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(pruned.stdout == "Deleted Volumes:\n\(anonymousName)\n\nTotal reclaimed space: 6B\n")
            #expect(harness.entries("volumes") == [stays, "named"].sorted())

            let all = await harness.kiln("volume", "prune", "-a", "-f")
            #expect(all.stdout == "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n")

            // `rm -v` removes the anonymous volume with its container.
            #expect(await harness.kiln("rm", "-v", "stays").status == 0)
            #expect(harness.entries("volumes") == [])
            #expect(await harness.kiln("volume", "ls", "-q").stdout == "")
        }
    }

    @Test func diskUsageCountsVolumesAndContainers() async throws {
        try await ContainerHarness.with { harness in
            let script = "head -c 3000 /dev/zero > /data/f && head -c 5000 /dev/zero > /written"
            let ran = await harness.kiln("run", "--name", "filler", "-v", "used:/data", ContainerHarness.image, "sh", "-c", script)
            #expect(ran.status == 0, "\(ran.stderr)")
            #expect(await harness.kiln("volume", "create", "idle").status == 0)

            let summary = await harness.kiln("system", "df", "--format", "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}")
            #expect(summary.status == 0, "\(summary.stderr)")
            let lines = summary.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("Containers|1|0|5kB|5kB (100%)"))
            #expect(lines.contains("Local Volumes|2|1|3kB|0B (0%)"))

            let verbose = await harness.kiln("system", "df", "-v")
            #expect(verbose.status == 0, "\(verbose.stderr)")
            #expect(verbose.stdout.contains("Local Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\nidle          0         0B\nused          1         3kB\n"))
            let containerLine = verbose.stdout.split(separator: "\n").first { $0.hasSuffix("filler") }
            #expect(containerLine?.contains(" 5kB ") == true)
            // Docker's columns, with the command, the volume count and the status as `ps` shows it.
            #expect(verbose.stdout.contains("CONTAINER ID   IMAGE "), "\(verbose.stdout)")
            let header = verbose.stdout.split(separator: "\n").first { $0.hasPrefix("CONTAINER ID") } ?? ""
            #expect(header.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                == "CONTAINER ID IMAGE COMMAND LOCAL VOLUMES SIZE CREATED STATUS NAMES")
            #expect(containerLine?.contains("\"sh -c 'head -c 3000…\"") == true, "\(containerLine ?? "")")
            #expect(containerLine?.contains("Exited (0) ") == true, "\(containerLine ?? "")")
        }
    }

    /// RECLAIMABLE of the Images and Build Cache rows is what `image prune -a` and then
    /// `builder prune -a` report. The store has a layer that both builds share at different
    /// positions (its older snapshot goes with the older image), cache-only image configs, and
    /// an image that a stopped container keeps.
    @Test func diskUsageMatchesPruneTotals() async throws {
        try await ContainerHarness.with { harness in
            let image = ContainerHarness.image
            let tar = harness.directory.appending("busybox.tar")
            #expect(await harness.kiln("import", "--change", "ENV KEPT=1", tar, "kept:1").status == 0)
            #expect(await harness.kiln("run", "--name", "keeper", "kept:1", "true").status == 0)
            try harness.directory.write("context/f", String(repeating: "f", count: 500_000))
            try harness.directory.write(
                "context/Dockerfile",
                """
                FROM \(image)
                RUN head -c 3000000 /dev/urandom > /r1
                COPY f /f
                RUN head -c 1000000 /dev/urandom > /r2

                """)
            let context = harness.directory.appending("context")
            let first = await harness.kiln("build", "-q", "-t", "app:1", context)
            #expect(first.status == 0, "\(first.stderr)")
            let second = await harness.kiln("build", "-q", "--no-cache", "-t", "app:1", context)
            #expect(second.status == 0, "\(second.stderr)")

            func reclaimable(_ type: String) async -> String? {
                let rows = await harness.kiln("system", "df", "--format", "{{.Type}}|{{.Reclaimable}}").stdout
                let row = rows.split(separator: "\n").first { $0.hasPrefix(type + "|") }
                return row.flatMap { $0.split(separator: "|").last?.split(separator: " ").first.map(String.init) }
            }
            func reclaimed(_ output: String) -> String? {
                output.split(separator: "\n").last { $0.hasPrefix("Total reclaimed space: ") }
                    .map { String($0.dropFirst("Total reclaimed space: ".count)) }
            }

            let imagesBefore = await reclaimable("Images")
            let imagePrune = await harness.kiln("image", "prune", "-a", "-f")
            #expect(imagePrune.status == 0, "\(imagePrune.stderr)")
            #expect(imagesBefore != "0B")
            #expect(reclaimed(imagePrune.stdout) == imagesBefore, "\(imagePrune.stdout)")
            #expect(await reclaimable("Images") == "0B")

            let cacheBefore = await reclaimable("Build Cache")
            let builderPrune = await harness.kiln("builder", "prune", "-a", "-f")
            #expect(builderPrune.status == 0, "\(builderPrune.stderr)")
            #expect(cacheBefore != "0B")
            #expect(reclaimed(builderPrune.stdout) == cacheBefore, "\(builderPrune.stdout)")
            #expect(await reclaimable("Build Cache") == "0B")
        }
    }

    @Test func systemPruneWithVolumes() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "--name", "old", "-v", "/scratch", ContainerHarness.image, "true").status == 0)
            #expect(await harness.kiln("volume", "create", "named").status == 0)
            let anonymous = try #require(try harness.container("old")?.specification.mounts.first?.source)

            let pruned = await harness.kiln("system", "prune", "-f", "--volumes")
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(pruned.stdout.contains("Deleted Volumes:\n\(anonymous)\n\n"))
            #expect(await harness.kiln("volume", "ls", "-q").stdout == "named\n")
        }
    }

    /// `volume rm` beside a starting `kiln run -v NAME:…` either fails because the container uses
    /// the volume, or runs first, so the container gets a new volume: the container never ends
    /// up with its volume deleted.
    @Test func removeBesideRunKeepsUsedVolume() async throws {
        try await ContainerHarness.with { harness in
            for round in 0..<6 {
                let name = "race\(round)"
                #expect(await harness.kiln("volume", "create", name).status == 0)
                async let ran = harness.kiln("run", "--name", name, "-v", "\(name):/data", ContainerHarness.image, "sh", "-c", "echo kept > /data/f")
                async let removed = harness.kiln("volume", "rm", name)
                let (run, rm) = await (ran, removed)
                #expect(run.status == 0, "\(run.stderr)")
                #expect(rm.status == 0 || rm.stderr.contains("volume is in use"), "\(rm.stderr)")

                let inspected = await harness.kiln("volume", "inspect", "--format", "{{.Name}}", name)
                #expect(inspected.stdout == name + "\n", "round \(round): \(inspected.stderr)")
                let file = harness.root + "/volumes/\(name)/_data/f"
                #expect((try? String(contentsOfFile: file, encoding: .utf8)) == "kept\n", "round \(round)")
            }
        }
    }
}
