import Foundation
import Testing

/// `kiln push IMAGE docker-archive:FILE[:REF]` and `oci-archive:FILE[:REF]`: skopeo and
/// `kiln load` read what kiln writes with the same digests, and a bad destination writes nothing.
@Suite(
    .serialized,
    .enabled(
        if: Host.isRoot && BusyboxTree.isAvailable && Host.hasExecutable("skopeo"),
        "needs root, busybox-static and skopeo"))
struct PushArchiveTests {
    /// A store with the busybox tree imported as `pushed:1`; returns kiln, the manifest digest
    /// and the image ID.
    private func makeImage(_ scratch: TemporaryDirectory) async throws -> (KilnInvocation, String, String) {
        let tarball = scratch.appending("busybox.tar")
        try BusyboxTree.makeTar(at: tarball, scratch: scratch.path)
        let kiln = KilnInvocation(root: scratch.appending("root"))
        let imported = await kiln("import", "-c", "ENV PUSHED=1", tarball, "pushed:1")
        #expect(imported.status == 0, "\(imported.stderr)")
        let manifest = await inspect(kiln, "pushed:1", "{{.Descriptor.digest}}")
        let id = await inspect(kiln, "pushed:1", "{{.Id}}")
        return (kiln, manifest, id)
    }

    private func inspect(_ kiln: KilnInvocation, _ image: String, _ template: String) async -> String {
        await kiln("image", "inspect", "-f", template, image).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// skopeo's `inspect --format` of `reference`, trimmed.
    private func skopeo(_ reference: String, _ template: String) async throws -> String {
        try await Command.run("/usr/bin/skopeo", ["inspect", "--format", template, reference])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// skopeo's digest of the config of `reference`.
    private func skopeoConfigDigest(_ reference: String) async throws -> String {
        let raw = try await Command.run("/usr/bin/skopeo", ["inspect", "--raw", reference])
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
        let config = try #require(manifest["config"] as? [String: Any])
        return try #require(config["digest"] as? String)
    }

    /// Reads the `rootfs.diff_ids` of the config that skopeo finds at `reference`.
    private func diffIDs(_ reference: String) async throws -> [String] {
        let raw = try await Command.run("/usr/bin/skopeo", ["inspect", "--config", reference])
        let config = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
        let rootfs = try #require(config["rootfs"] as? [String: Any])
        return try #require(rootfs["diff_ids"] as? [String])
    }

    private func entries(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    @Test func dockerArchiveReadBySkopeoAndLoad() async throws {
        let scratch = try TemporaryDirectory("kiln-push-archive")
        defer { scratch.remove() }
        let (kiln, manifest, id) = try await makeImage(scratch)
        let archive = scratch.appending("out/docker.tar")
        try FileManager.default.createDirectory(atPath: scratch.appending("out"), withIntermediateDirectories: true)

        let digestFile = scratch.appending("digest")
        let pushed = await kiln("push", "--digestfile", digestFile, "pushed:1", "docker-archive:\(archive)")
        #expect(pushed.status == 0, "\(pushed.stderr)")
        #expect(pushed.stdout == "1: digest: \(manifest) size: \(await inspect(kiln, "pushed:1", "{{.Descriptor.size}}"))\n")
        #expect(try String(contentsOfFile: digestFile, encoding: .utf8) == manifest)
        await #expect(try skopeoConfigDigest("docker-archive:\(archive)") == id)
        await #expect(try skopeo("docker-archive:\(archive)", "{{.Env}}").contains("PUSHED=1"))
        #expect(entries(scratch.appending("out")) == ["docker.tar"])
        // The printed digest names a manifest in the archive: its OCI index lists it, as Docker 25
        // and later write the index beside manifest.json, so skopeo reads the same archive as an
        // oci-archive with that digest.
        await #expect(try skopeo("oci-archive:\(archive)", "{{.Digest}}") == manifest)

        let loader = KilnInvocation(root: scratch.appending("root-load"))
        let loaded = await loader("load", "-i", archive)
        #expect(loaded.stdout == "Loaded image: pushed:1\n", "\(loaded.stderr)")
        #expect(await inspect(loader, "pushed:1", "{{.Id}}") == id)
        #expect(await inspect(loader, "pushed:1", "{{.Descriptor.digest}}") == manifest)

        // With REF, the archive names the image REF, and skopeo copies it by that name.
        let named = scratch.appending("named.tar")
        #expect(await kiln("push", "-q", "pushed:1", "docker-archive:\(named):myname/app:2").stdout == "myname/app:2\n")
        let layout = scratch.appending("copied")
        try await Command.run("/usr/bin/skopeo", ["copy", "-q", "docker-archive:\(named):myname/app:2", "oci:\(layout):x"])
        // skopeo compresses the layer and rewrites the config on the way, so the diff IDs are what match.
        await #expect(try diffIDs("oci:\(layout):x") == diffIDs("docker-archive:\(archive)"))
        let kilnLayer = await inspect(kiln, "pushed:1", "{{index .RootFS.Layers 0}}")
        await #expect(try diffIDs("oci:\(layout):x") == [kilnLayer])
        let other = KilnInvocation(root: scratch.appending("root-named"))
        #expect(await other("load", "-i", named).stdout == "Loaded image: myname/app:2\n")
    }

    @Test func ociArchiveReadBySkopeoAndLoad() async throws {
        let scratch = try TemporaryDirectory("kiln-push-archive")
        defer { scratch.remove() }
        let (kiln, manifest, id) = try await makeImage(scratch)

        let archive = scratch.appending("oci.tar")
        let pushed = await kiln("push", "--digestfile", scratch.appending("digest"), "pushed:1", "oci-archive:\(archive)")
        #expect(pushed.status == 0, "\(pushed.stderr)")
        await #expect(try skopeo("oci-archive:\(archive)", "{{.Digest}}") == manifest)
        await #expect(try skopeo("oci-archive:\(archive):1", "{{.Digest}}") == manifest)
        #expect(try String(contentsOfFile: scratch.appending("digest"), encoding: .utf8) == manifest)

        // REF becomes the index entry's ref name, read back by skopeo and kiln load.
        let named = scratch.appending("named.tar")
        #expect(await kiln("push", "pushed:1", "oci-archive:\(named):release").status == 0)
        await #expect(try skopeo("oci-archive:\(named):release", "{{.Digest}}") == manifest)
        let layout = scratch.appending("copied")
        try await Command.run("/usr/bin/skopeo", ["copy", "-q", "oci-archive:\(named):release", "oci:\(layout):x"])
        await #expect(try skopeo("oci:\(layout):x", "{{.Digest}}") == manifest)
        let loader = KilnInvocation(root: scratch.appending("root-load"))
        #expect(await loader("load", "-i", named).stdout == "Loaded image: pushed:release\n")
        #expect(await inspect(loader, "pushed:release", "{{.Id}}") == id)
    }

    @Test func badDestinationWritesNothing() async throws {
        let scratch = try TemporaryDirectory("kiln-push-archive")
        defer { scratch.remove() }
        let (kiln, _, _) = try await makeImage(scratch)
        let target = scratch.appending("target")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)

        let missing = await kiln("push", "pushed:1", "docker-archive:\(target)/no/such/dir/image.tar")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot write docker-archive \"\(target)/no/such/dir/image.tar\": directory \"\(target)/no/such/dir\" does not exist"))

        let directory = await kiln("push", "pushed:1", "oci-archive:\(target)")
        #expect(directory.status == 1)
        #expect(directory.stderr.contains("cannot write oci-archive \"\(target)\": it is a directory"))

        let digest = await kiln("push", "pushed:1", "docker-archive:\(target)/a.tar:app@sha256:" + String(repeating: "0", count: 64))
        #expect(digest.status == 1)
        #expect(digest.stderr.contains("an archive names images by tag, not by digest"))

        let refName = await kiln("push", "pushed:1", "oci-archive:\(target)/b.tar:bad name")
        #expect(refName.status == 1)
        #expect(refName.stderr.contains("invalid oci-archive reference \"bad name\""))

        let unknown = await kiln("push", "no-such:image", "oci-archive:\(target)/c.tar")
        #expect(unknown.status == 1)
        #expect(entries(target).isEmpty)

        // A failed push leaves an existing archive as it was.
        let existing = try scratch.write("target/old.tar", "old contents")
        #expect(await kiln("push", "no-such:image", "docker-archive:\(existing)").status == 1)
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "old contents")
        #expect(entries(target) == ["old.tar"])
    }
}
