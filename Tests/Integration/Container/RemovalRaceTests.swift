import Foundation
import Testing

/// `kiln rmi -f` started while `kiln run` creates a container from the same image, each in a
/// process of its own, at delays that cover the time between the run's image lookup and its
/// container insert.
@Suite(
    .enabled(
        if: ContainerHarness.isReady && KilnBinary.isAvailable,
        "needs root, runc, slirp4netns, busybox-static and the built kiln binary"),
    .serialized)
struct RemovalRaceTests {
    static let rounds = 30

    /// Runs `arguments` as a separate kiln process after `delay` milliseconds.
    static func kiln(root: String, _ arguments: [String], afterMilliseconds delay: Int = 0) async throws
        -> Command.Result
    {
        try await Task.detached {
            if delay > 0 { usleep(UInt32(delay) * 1000) }
            return try await KilnBinary.run(root: root, arguments, timeout: 120)
        }.value
    }

    @Test(arguments: ["-d", "--rm"])
    func runRacingForcedRemoval(mode: String) async throws {
        try await ContainerHarness.with { harness in
            let tar = harness.directory.appending("busybox.tar")
            for round in 0..<Self.rounds {
                // A distinct config per round makes a distinct image, so each rmi deletes one.
                let imported = await harness.kiln("import", "--change", "ENV ROUND=\(round)", tar, "127.0.0.1:1/v:\(round)")
                try #require(imported.status == 0, "\(imported.stderr)")
            }

            var outcomes: [String: Int] = [:]
            for round in 0..<Self.rounds {
                let image = "127.0.0.1:1/v:\(round)"
                // The container waits (60 s at most) until the test opens its gate after the
                // removal, so a container that was created must have kept its image.
                let gate = harness.directory.appending("gate\(round)")
                try FileManager.default.createDirectory(atPath: gate, withIntermediateDirectories: true)
                let waitForGate = "i=0; while [ ! -e /gate/open ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"
                async let run = Self.kiln(
                    root: harness.root,
                    [
                        "run", mode, "--pull", "never", "--network", "none", "-v", "\(gate):/gate", "--name", "w\(round)",
                        image, "sh", "-c", waitForGate,
                    ])
                // The removal starts 0 to 116 ms after the run, 4 ms later each round, so that
                // some rounds fall between the run's image lookup and its container insert.
                async let removal = Self.kiln(root: harness.root, ["rmi", "-f", image], afterMilliseconds: round * 4)
                let removed = try await removal
                FileManager.default.createFile(atPath: gate + "/open", contents: nil)
                let created = try await run

                #expect(removed.status == 0, "round \(round): \(removed.stderr)")
                let deleted = removed.stdout.contains("Deleted:")
                if created.status == 0 {
                    outcomes[deleted ? "created, image deleted" : "created, image kept", default: 0] += 1
                    #expect(!deleted, "round \(round): \(removed.stdout)")
                } else {
                    // The removal came before the lookup (no such image) or before the insert.
                    let removedFirst = created.stderr.contains("No such image")
                    outcomes[removedFirst ? "removed before the lookup" : "removed during the create", default: 0] += 1
                    #expect(created.status == 125, "round \(round): \(created.stderr)")
                    if !removedFirst {
                        #expect(
                            created.stderr.contains("was removed while the container was being created"),
                            "round \(round): \(created.stderr)")
                    }
                    #expect(try harness.container("w\(round)") == nil, "round \(round)")
                }
            }

            let verified = try await KilnBinary.run(root: harness.root, ["store", "verify"])
            #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
            // Every container left can still be committed, which reads its image's blobs.
            for container in try await KilnBinary.run(root: harness.root, ["ps", "-a", "--format", "{{.Names}}"]).stdout
                .split(separator: "\n")
            {
                let committed = try await KilnBinary.run(root: harness.root, ["commit", String(container), "kept:\(container)"])
                #expect(committed.status == 0, "\(container): \(committed.stderr)")
            }
            print("run \(mode) beside rmi -f, \(Self.rounds) rounds: \(outcomes.sorted { $0.key < $1.key })")
        }
    }

    /// A `kiln rmi -f` that lands while `kiln run` unpacks the image's layer fails the run, and
    /// the run removes the snapshot it unpacked instead of leaving it for `kiln store gc`.
    @Test func failedCreateRemovesItsSnapshot() async throws {
        try await ContainerHarness.with { harness in
            // 128 MiB of random data makes the unpack take long enough to remove the image during it.
            let tree = harness.directory.appending("big-tree")
            try BusyboxTree.make(at: tree)
            try await Command.run("/bin/sh", ["-c", "head -c 134217728 /dev/urandom > \(tree)/big.bin"])
            let tar = harness.directory.appending("big.tar")
            try await Command.run("/bin/tar", ["--numeric-owner", "-C", tree, "-cf", tar, "."])
            let image = "127.0.0.1:1/big:1"
            let imported = await harness.kiln("import", tar, image)
            try #require(imported.status == 0, "\(imported.stderr)")

            async let run = Self.kiln(root: harness.root, ["run", "-d", "--pull", "never", "--network", "none", image, "true"])
            // The unpack writes into a scratch directory under work/ first. The check runs every
            // 2 ms, because the whole unpack can take less than 100 ms.
            var unpacking = !harness.entries("work").isEmpty
            var checks = 0
            while !unpacking && checks < 15_000 {
                usleep(2000)
                checks += 1
                unpacking = !harness.entries("work").isEmpty
            }
            let removed = try await Self.kiln(root: harness.root, ["rmi", "-f", image])
            let created = try await run

            try #require(unpacking, "the run never started unpacking")
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect(created.status == 125, "\(created.stdout)\(created.stderr)")
            #expect(created.stderr.contains("was removed while the container was being created"), "\(created.stderr)")
            let verified = try await KilnBinary.run(root: harness.root, ["store", "verify"])
            #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
            #expect(!verified.stdout.contains("Leftovers"), "\(verified.stdout)")
            #expect(harness.entries("snapshots") == [])
        }
    }
}
