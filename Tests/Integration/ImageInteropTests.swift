import Foundation
import Testing

/// Images written by buildah and skopeo load into kiln with the same digests and files, and what
/// kiln saves is read by skopeo and umoci with the same digests and config.
@Suite(
    .serialized,
    .enabled(
        if: Host.isRoot && BusyboxTree.isAvailable && Host.hasExecutable("skopeo") && Host.hasExecutable("umoci"),
        "needs root, busybox-static, skopeo and umoci"))
struct ImageInteropTests {
    /// skopeo's view of an archive: the manifest digest, the config digest and the layers.
    struct SkopeoView {
        var manifestDigest: String
        var configDigest: String
        var layers: [String]
    }

    private func skopeo(_ reference: String) async throws -> SkopeoView {
        let raw = try await Command.run("/usr/bin/skopeo", ["inspect", "--raw", reference])
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
        let config = try #require(manifest["config"] as? [String: Any])
        let inspect = try await Command.run("/usr/bin/skopeo", ["inspect", reference])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(inspect.utf8)) as? [String: Any])
        return SkopeoView(
            manifestDigest: try #require(summary["Digest"] as? String),
            configDigest: try #require(config["digest"] as? String),
            layers: try #require(summary["Layers"] as? [String]))
    }

    private func inspect(_ kiln: KilnInvocation, _ image: String, _ template: String) async -> String {
        await kiln("image", "inspect", "-f", template, image).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Unpacks an OCI layout with umoci and returns the rootfs path.
    private func umociUnpack(_ layout: String, tag: String, into bundle: String) async throws -> String {
        try await Command.run("/usr/bin/umoci", ["unpack", "--image", "\(layout):\(tag)", bundle])
        return bundle + "/rootfs"
    }

    private func digestOfFile(_ path: String) async throws -> String {
        try await Command.run("/usr/bin/sha256sum", [path]).split(separator: " ").first.map(String.init) ?? ""
    }

    @Test(.enabled(if: Host.hasExecutable("buildah"), "needs buildah"))
    func buildahArchivesLoadWithSameDigestsAndFiles() async throws {
        let scratch = try TemporaryDirectory("kiln-interop")
        defer { scratch.remove() }
        let tree = scratch.appending("tree")
        try BusyboxTree.make(at: tree)
        let storage = [
            "--root", scratch.appending("buildah"), "--runroot", scratch.appending("buildah-run"), "--storage-driver",
            "vfs",
        ]
        let container = try await Command.run("/usr/bin/buildah", storage + ["from", "scratch"]).trimmingCharacters(
            in: .whitespacesAndNewlines)
        defer { _ = try? Command.run("/usr/bin/buildah", storage + ["rm", "-a"]) }
        try await Command.run("/usr/bin/buildah", storage + ["copy", container, tree + "/", "/"])
        try await Command.run(
            "/usr/bin/buildah", storage + ["config", "--cmd", "[\"/bin/sh\"]", "--env", "FROM_BUILDAH=1", container])
        try await Command.run("/usr/bin/buildah", storage + ["commit", "-q", container, "interop:1"])
        let ociArchive = scratch.appending("buildah-oci.tar")
        let dockerArchive = scratch.appending("buildah-docker.tar")
        try await Command.run(
            "/usr/bin/buildah", storage + ["push", "-q", "interop:1", "oci-archive:\(ociArchive):interop:1"])
        try await Command.run(
            "/usr/bin/buildah", storage + ["push", "-q", "interop:1", "docker-archive:\(dockerArchive):interop:1"])

        let kiln = KilnInvocation(root: scratch.appending("root"))
        let oci = try await skopeo("oci-archive:\(ociArchive)")
        #expect(await kiln("load", "-q", "-i", ociArchive).status == 0)
        #expect(await inspect(kiln, "interop:1", "{{.Descriptor.digest}}") == oci.manifestDigest)
        #expect(await inspect(kiln, "interop:1", "{{.Id}}") == oci.configDigest)

        let docker = try await skopeo("docker-archive:\(dockerArchive)")
        let other = KilnInvocation(root: scratch.appending("root-docker"))
        #expect(await other("load", "-q", "-i", dockerArchive).status == 0)
        #expect(await inspect(other, "localhost/interop:1", "{{.Id}}") == docker.configDigest)
        #expect(
            await inspect(other, "localhost/interop:1", "{{json .RootFS.Layers}}")
                == "[\"\(docker.layers.joined(separator: "\",\""))\"]")

        // The files: kiln's OCI save of each, unpacked by umoci, matches the tree buildah copied.
        for (store, name) in [(kiln, "interop:1"), (other, "localhost/interop:1")] {
            let saved = scratch.appending("saved-\(UUID().uuidString.prefix(6)).tar")
            #expect(await store("save", "--format", "oci", "-o", saved, name).status == 0)
            let layout = scratch.appending("layout-\(UUID().uuidString.prefix(6))")
            try FileManager.default.createDirectory(atPath: layout, withIntermediateDirectories: true)
            try await Command.run("/bin/tar", ["-C", layout, "-xf", saved])
            let rootfs = try await umociUnpack(layout, tag: "1", into: layout + "-bundle")
            await #expect(try digestOfFile(rootfs + "/bin/busybox") == digestOfFile(tree + "/bin/busybox"))
            #expect(
                try String(contentsOfFile: rootfs + "/etc/passwd", encoding: .utf8)
                    == String(contentsOfFile: tree + "/etc/passwd", encoding: .utf8))
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/bin/sh") == "busybox")
        }
    }

    @Test func skopeoCopiesLoadWithSameDigests() async throws {
        let scratch = try TemporaryDirectory("kiln-interop")
        defer { scratch.remove() }
        let tarball = scratch.appending("busybox.tar")
        try BusyboxTree.makeTar(at: tarball, scratch: scratch.path)
        let kiln = KilnInvocation(root: scratch.appending("root"))
        #expect(await kiln("import", "-c", "CMD [\"/bin/sh\"]", tarball, "busybox:kiln").status == 0)
        let saved = scratch.appending("kiln-oci.tar")
        #expect(await kiln("save", "--format", "oci", "-o", saved, "busybox:kiln").status == 0)
        let id = await inspect(kiln, "busybox:kiln", "{{.Id}}")

        // skopeo writes a docker-archive and an OCI layout directory of kiln's image.
        let dockerArchive = scratch.appending("skopeo-docker.tar")
        try await Command.run(
            "/usr/bin/skopeo", ["copy", "-q", "oci-archive:\(saved)", "docker-archive:\(dockerArchive):copied:1"])
        let layout = scratch.appending("skopeo-layout")
        try await Command.run("/usr/bin/skopeo", ["copy", "-q", "oci-archive:\(saved)", "oci:\(layout):copied"])

        let fromDocker = KilnInvocation(root: scratch.appending("root-docker"))
        #expect(await fromDocker("load", "-q", "-i", dockerArchive).stdout == "Loaded image: copied:1\n")
        #expect(await inspect(fromDocker, "copied:1", "{{.Id}}") == id)
        let fromLayout = KilnInvocation(root: scratch.appending("root-layout"))
        let loaded = await fromLayout("load", "-i", layout)
        #expect(loaded.status == 0, "stderr: \(loaded.stderr)")
        #expect(await fromLayout("images", "-q", "--no-trunc").stdout == id + "\n")
        await #expect(try skopeo("oci:\(layout):copied").manifestDigest == skopeo("oci-archive:\(saved)").manifestDigest)
    }

    @Test func kilnSaveIsReadBySkopeoAndUmoci() async throws {
        let scratch = try TemporaryDirectory("kiln-interop")
        defer { scratch.remove() }
        let tarball = scratch.appending("busybox.tar")
        try BusyboxTree.makeTar(at: tarball, scratch: scratch.path)
        let kiln = KilnInvocation(root: scratch.appending("root"))
        #expect(await kiln("import", "-c", "ENV KILN=1", "-c", "CMD [\"/bin/sh\"]", tarball, "saved:1").status == 0)
        let manifest = await inspect(kiln, "saved:1", "{{.Descriptor.digest}}")
        let id = await inspect(kiln, "saved:1", "{{.Id}}")

        let ociArchive = scratch.appending("kiln-oci.tar")
        let dockerArchive = scratch.appending("kiln-docker.tar")
        #expect(await kiln("save", "--format", "oci", "-o", ociArchive, "saved:1").status == 0)
        #expect(await kiln("save", "-o", dockerArchive, "saved:1").status == 0)

        let oci = try await skopeo("oci-archive:\(ociArchive)")
        #expect(oci.manifestDigest == manifest)
        #expect(oci.configDigest == id)
        let docker = try await skopeo("docker-archive:\(dockerArchive)")
        #expect(docker.configDigest == id)
        let config = try await Command.run("/usr/bin/skopeo", ["inspect", "--config", "docker-archive:\(dockerArchive)"])
        #expect(config.contains("\"KILN=1\""))
        let copy = scratch.appending("copy-dir")
        try await Command.run("/usr/bin/skopeo", ["copy", "-q", "docker-archive:\(dockerArchive)", "dir:\(copy)"])
        #expect(FileManager.default.fileExists(atPath: copy + "/manifest.json"))

        let layout = scratch.appending("layout")
        try FileManager.default.createDirectory(atPath: layout, withIntermediateDirectories: true)
        try await Command.run("/bin/tar", ["-C", layout, "-xf", ociArchive])
        #expect(try await Command.run("/usr/bin/umoci", ["ls", "--layout", layout]) == "1\n")
        let stat = try await Command.run("/usr/bin/umoci", ["stat", "--json", "--image", "\(layout):1"])
        #expect(stat.contains("Imported from"))
        let rootfs = try await umociUnpack(layout, tag: "1", into: scratch.appending("bundle"))
        #expect(try await Command.run("/usr/sbin/chroot", [rootfs, "/bin/sh", "-c", "echo inside"]) == "inside\n")
        let bundleConfig = try String(contentsOfFile: scratch.appending("bundle/config.json"), encoding: .utf8)
        #expect(bundleConfig.contains("KILN=1"))
    }
}
