import Foundation
import KilnContainer
import KilnStore
import Testing

/// Volumes of `kiln run`: a new volume gets the image's files at its destination, once.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct VolumeTests {
    /// Owner, mode, modification time and hard-link count of the seeded file, and the seeded link's target.
    static let describeSeed = "stat -c '%u:%g %a %Y %h' /data/sub/file && readlink /data/link && [ /data/sub/file -ef /data/hard ] && echo linked"

    /// Commits `busybox:seeded`, whose `/data` (an image `VOLUME`) has a file owned by 1000 with
    /// mode 640 and an old time, a hard link to it and a symbolic link. Returns how `describeSeed`
    /// prints that tree in the image.
    static func makeSeededImage(_ harness: ContainerHarness) async throws -> String {
        let script = "mkdir -p /data/sub && echo hello > /data/sub/file && chown 1000:1000 /data/sub/file"
            + " && chmod 640 /data/sub/file && touch -t 200102030405 /data/sub/file && ln /data/sub/file /data/hard"
            + " && ln -s sub/file /data/link && " + describeSeed
        let seeded = await harness.kiln("run", "--name", "seed", ContainerHarness.image, "sh", "-c", script)
        try #require(seeded.status == 0, "\(seeded.stderr)")
        let committed = await harness.kiln("commit", "-c", "VOLUME [\"/data\"]", "seed", "busybox:seeded")
        try #require(committed.status == 0, "\(committed.stderr)")
        return seeded.stdout
    }

    @Test func imageVolumeGetsImageFiles() async throws {
        try await ContainerHarness.with { harness in
            let expected = try await Self.makeSeededImage(harness)
            #expect(expected.hasSuffix("sub/file\nlinked\n"))

            let ran = await harness.kiln("run", "--name", "reader", "busybox:seeded", "sh", "-c", "cat /data/sub/file && " + Self.describeSeed)
            #expect(ran.status == 0, "\(ran.stderr)")
            #expect(ran.stdout == "hello\n" + expected)

            // The files are in the volume's folder, not only visible through the image.
            let container = try #require(try harness.container("reader"))
            let volume = try #require(container.specification.mounts.first { $0.destination == "/data" })
            #expect(volume.anonymous)
            let data = harness.root + "/volumes/" + volume.source + "/_data"
            #expect(try String(contentsOfFile: data + "/sub/file", encoding: .utf8) == "hello\n")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: data + "/link") == "sub/file")
            #expect(harness.entries("volumes/" + volume.source) == ["_data"])
        }
    }

    @Test func namedVolumeFilledOnce() async throws {
        try await ContainerHarness.with { harness in
            _ = try await Self.makeSeededImage(harness)

            let first = await harness.kiln("run", "--rm", "-v", "shared:/data", "busybox:seeded", "sh", "-c", "ls /data/sub && rm /data/sub/file")
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout == "file\n")

            // The volume exists now, so it is not filled again and the removed file stays removed.
            let second = await harness.kiln("run", "--rm", "-v", "shared:/data", "busybox:seeded", "ls", "/data/sub")
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stdout == "")
        }
    }

    /// As in Docker, an existing volume that is still empty gets the image's files, with their
    /// owners, modes, times and links. The next use of a volume removes the scratch folder of a
    /// copy whose kiln was killed, but not that of a copy in progress.
    @Test func emptyVolumeFilledAndScratchCleaned() async throws {
        try await ContainerHarness.with { harness in
            let expected = try await Self.makeSeededImage(harness)
            let empty = await harness.kiln("run", "--rm", "-v", "later:/data:nocopy", "busybox:seeded", "ls", "-A", "/data")
            #expect(empty.status == 0, "\(empty.stderr)")
            #expect(empty.stdout == "")

            // A copy by a kiln without an owner tag counts as abandoned, and one by this live process does not.
            let volume = harness.root + "/volumes/later"
            let abandoned = volume + "/.filling-0123456789abcdef"
            let live = volume + "/.filling-" + ProcessIdentity.current.fileTag + "-01234567"
            try FileManager.default.createDirectory(atPath: abandoned + "/sub", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: true)

            let filled = await harness.kiln("run", "--rm", "-v", "later:/data", "busybox:seeded", "sh", "-c", Self.describeSeed)
            #expect(filled.status == 0, "\(filled.stderr)")
            #expect(filled.stdout == expected)
            let names = try FileManager.default.contentsOfDirectory(atPath: volume).sorted()
            #expect(names == [(live as NSString).lastPathComponent, "_data"].sorted())
        }
    }

    @Test func noCopyVolumeStaysEmpty() async throws {
        try await ContainerHarness.with { harness in
            _ = try await Self.makeSeededImage(harness)

            let short = await harness.kiln("run", "--rm", "-v", "short:/data:nocopy", "busybox:seeded", "ls", "-A", "/data")
            #expect(short.status == 0, "\(short.stderr)")
            #expect(short.stdout == "")

            let long = await harness.kiln(
                "run", "--rm", "--mount", "type=volume,source=long,target=/data,volume-nocopy", "busybox:seeded", "ls", "-A", "/data")
            #expect(long.status == 0, "\(long.stderr)")
            #expect(long.stdout == "")
        }
    }

    @Test func hostileVolumeLinkStaysInside() async throws {
        try await ContainerHarness.with { harness in
            // A host folder that the image's links name by its host path.
            let secret = try harness.directory.write("host/secret", "host file\n")
            let hostFolder = (secret as NSString).deletingLastPathComponent

            let script = "ln -s \(hostFolder) /data && mkdir /inner && ln -s \(hostFolder) /inner/escape"
            let linked = await harness.kiln("run", "--name", "hostile", ContainerHarness.image, "sh", "-c", script)
            try #require(linked.status == 0, "\(linked.stderr)")
            let committed = await harness.kiln(
                "commit", "-c", "VOLUME [\"/data\", \"/inner\"]", "hostile", "hostile:links")
            try #require(committed.status == 0, "\(committed.stderr)")

            let ran = await harness.kiln(
                "run", "--name", "victim", "hostile:links", "sh", "-c", "ls -A /data && echo written > /data/new && readlink /inner/escape")
            #expect(ran.status == 0, "\(ran.stderr)")
            #expect(ran.stdout == hostFolder + "\n")

            #expect(try FileManager.default.contentsOfDirectory(atPath: hostFolder) == ["secret"])
            #expect(try String(contentsOfFile: secret, encoding: .utf8) == "host file\n")

            // The link inside the tree was copied as a link, never followed.
            let container = try #require(try harness.container("victim"))
            let inner = try #require(container.specification.mounts.first { $0.destination == "/inner" })
            let escape = harness.root + "/volumes/" + inner.source + "/_data/escape"
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: escape) == hostFolder)
        }
    }
}
