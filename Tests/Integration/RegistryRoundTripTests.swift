import Foundation
import KilnImage
import KilnRegistry
import Testing

/// kiln against Debian's docker-registry, checked with skopeo.
@Suite(.serialized) struct RegistryRoundTripTests {
    static let available = TestRegistry.isAvailable && Host.hasExecutable("skopeo")

    /// An OCI layout with one image of two gzip layers made by tar, tagged `1.0`.
    /// Makes a two-layer image in an OCI layout and returns the layout's path and the sum of the
    /// layers' uncompressed sizes.
    private func makeLayout(_ scratch: TemporaryDirectory) async throws -> (path: String, uncompressedSize: Int) {
        let layoutPath = scratch.appending("source")
        let layout = try OCILayoutDirectory(path: layoutPath)
        var layers: [Descriptor] = []
        var diffIDs: [Digest] = []
        var uncompressedSize = 0
        for index in 0..<2 {
            let tree = scratch.appending("tree\(index)")
            try scratch.write("tree\(index)/etc/kiln-\(index).txt", "layer \(index)\n")
            try scratch.write("tree\(index)/data/blob\(index)", String(repeating: "x", count: 5000 * (index + 1)))
            let tarPath = scratch.appending("layer\(index).tar")
            try await Command.run("/bin/tar", ["--sort=name", "--mtime=@0", "-C", tree, "-cf", tarPath, "."])
            let tar = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tarPath)))
            try await Command.run("/bin/gzip", ["-n", "-k", tarPath])
            let gzip = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tarPath + ".gz")))
            diffIDs.append(.sha256(of: tar))
            uncompressedSize += tar.count
            layers.append(try store(gzip, .ociLayerGzip, in: layout))
        }
        let config = ImageConfig(platform: .host, diffIDs: diffIDs).canonicalJSON()
        let manifest = Manifest(config: try store(config, .ociConfig, in: layout), layers: layers).canonicalJSON()
        let descriptor = try store(manifest, .ociManifest, in: layout)
        _ = try layout.recordImage(Reference(domain: "localhost", path: "x", tag: "1.0"), document: descriptor, selected: descriptor)
        return (layoutPath, uncompressedSize)
    }

    private func store(_ bytes: [UInt8], _ mediaType: MediaType, in layout: OCILayoutDirectory) throws -> Descriptor {
        let descriptor = Descriptor(mediaType: mediaType, bytes: bytes)
        let ingest = try layout.beginIngest(descriptor)
        try bytes.withUnsafeBytes { try ingest.write($0) }
        try ingest.commit()
        return descriptor
    }

    private func skopeoDigest(_ reference: String) async throws -> String {
        let output = try await Command.run("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://\(reference)"])
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `kiln pull IMAGE | head -1` through the real binary: the reader stops after one line,
    /// and the pull still completes, as Docker's daemon completes it.
    @Test(.enabled(if: available && KilnBinary.isAvailable, "needs docker-registry, skopeo and the kiln binary"))
    func pullCompletesWhenReaderStops() async throws {
        let scratch = try TemporaryDirectory("kiln-pull-head")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        let (layoutPath, _) = try await makeLayout(scratch)
        let source = "\(registry.host)/kiln/head:1.0"
        try await Command.run("skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layoutPath):1.0", "docker://\(source)"])

        let root = scratch.appending("root")
        let kilnPath = try #require(KilnBinary.path)
        let script = #""$1" --root "$2" pull --progress=plain "$3" | head -1; echo "status ${PIPESTATUS[0]}""#
        let output = try await Command.status(
            "bash", ["-c", script, "bash", kilnPath, root, source], environment: ["HOME": scratch.path, "PATH": "/usr/bin:/bin"],
            timeout: 120)
        #expect(output.stdout == "1.0: Pulling from kiln/head\nstatus 0\n", "\(output.stdout) \(output.stderr)")
        let listed = try await KilnBinary.run(root: root, ["images", "--format", "{{.Repository}}:{{.Tag}}"])
        #expect(listed.stdout == "\(registry.host)/kiln/head:1.0\n", "\(listed.stderr)")

        // With --progress=json every line of standard output is a JSON object, the result lines too.
        var kiln = KilnInvocation(root: root)
        kiln.environment["HOME"] = scratch.path
        let again = await kiln("pull", "--progress=json", source)
        #expect(again.status == 0, "\(again.stderr)")
        let lines = again.stdout.split(separator: "\n")
        #expect(lines.count >= 3)
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "\(line)")
        }
        #expect(again.stdout.contains("Status: Image is up to date"))
    }

    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func skopeoCopyThenKilnPullThenPush() async throws {
        let scratch = try TemporaryDirectory("kiln-registry-roundtrip")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        let (layoutPath, uncompressedSize) = try await makeLayout(scratch)
        let source = "\(registry.host)/kiln/src:1.0"
        try await Command.run("skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layoutPath):1.0", "docker://\(source)"])
        let sourceDigest = try await skopeoDigest(source)

        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path
        let pulled = await kiln("pull", "--progress=plain", source)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        // Progress and result go to standard output, as `docker pull` prints them.
        #expect(pulled.stdout.hasPrefix("1.0: Pulling from kiln/src\n"), "\(pulled.stdout)")
        #expect(pulled.stdout.contains("Digest: \(sourceDigest)\n"))
        #expect(pulled.stdout.contains(": Pull complete\n"))
        #expect(pulled.stdout.hasSuffix("Status: Downloaded newer image for \(source)\n\(source)\n"), "\(pulled.stdout)")
        #expect(pulled.stderr == "")
        // The layers' uncompressed size, not the compressed blobs (Docker counts only file bytes).
        let size = await kiln("image", "inspect", "-f", "{{.Size}}", source)
        #expect(size.stdout == "\(uncompressedSize)\n", "\(size.stderr)")

        let again = await kiln("pull", "-q", source)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout == "\(source)\n")

        let destination = "\(registry.host)/kiln/dst:2.0"
        let digestFile = scratch.appending("digest")
        let pushed = await kiln("push", "--progress=plain", "--digestfile", digestFile, source, destination)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        // Everything goes to standard output, as `docker push` prints it.
        #expect(pushed.stdout.hasPrefix("The push refers to repository [\(registry.host)/kiln/dst]\n"))
        #expect(pushed.stdout.contains(": Preparing\n"), "\(pushed.stdout)")
        #expect(pushed.stdout.contains("\n2.0: digest: \(sourceDigest) size: "), "\(pushed.stdout)")
        #expect(pushed.stderr == "")
        #expect(try String(contentsOfFile: digestFile, encoding: .utf8) == sourceDigest)
        await #expect(try skopeoDigest(destination) == sourceDigest)

        let repeated = await kiln("push", "--progress=plain", source, destination)
        #expect(repeated.status == 0, "\(repeated.stderr)")
        #expect(repeated.stdout.contains(": Layer already exists\n"))

        // skopeo reads what kiln pushed, blob for blob.
        let copied = scratch.appending("copied")
        try await Command.run("skopeo", ["copy", "--src-tls-verify=false", "docker://\(destination)", "oci:\(copied):x"])
        let original = try OCILayoutDirectory(path: layoutPath, create: false).resolveImage("1.0")
        #expect(try OCILayoutDirectory(path: copied, create: false).resolveImage("x").digest == original.digest)
    }

    /// `push` and `build --push` record the pushed digest, so `RepoDigests` and
    /// `images --digests` show it, as Docker does after a push.
    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func pushRecordsRepoDigest() async throws {
        let scratch = try TemporaryDirectory("kiln-push-digest")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        try scratch.write("Dockerfile", "FROM scratch\nLABEL pushed=\(UUID().uuidString)\n")
        var kiln = KilnInvocation(root: scratch.appending("root"), workingDirectory: scratch.path)
        kiln.environment["HOME"] = scratch.path

        let built = "\(registry.host)/kiln/built:1"
        let build = await kiln("build", "-q", "--push", "-t", built, ".")
        #expect(build.status == 0, "\(build.stderr)")
        let builtDigest = try await skopeoDigest(built)
        let builtDigests = await kiln("inspect", "-f", "{{json .RepoDigests}}", built)
        #expect(builtDigests.stdout == "[\"\(registry.host)/kiln/built@\(builtDigest)\"]\n", "\(builtDigests.stderr)")

        let tagged = "\(registry.host)/kiln/other:2"
        #expect(await kiln("tag", built, tagged).status == 0)
        let pushed = await kiln("push", "-q", tagged)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let listed = await kiln("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}")
        #expect(listed.stdout.contains("\(registry.host)/kiln/other 2 \(builtDigest)\n"), "\(listed.stdout)")
        let both = await kiln("inspect", "-f", "{{len .RepoDigests}}", tagged)
        #expect(both.stdout == "2\n", "\(both.stderr)")
    }

    /// A multi-platform image: the store keeps the host's manifest, named by the index digest
    /// of the pull. Pushing it sends that manifest and records the pushed digest as a repository
    /// digest, as a single-platform push does.
    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func pushOfPulledIndexRecordsRepoDigest() async throws {
        let scratch = try TemporaryDirectory("kiln-push-index")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        let layoutPath = scratch.appending("source")
        let layout = try OCILayoutDirectory(path: layoutPath)
        let other = Platform.host.architecture == "arm64" ? "amd64" : "arm64"
        var entries: [Descriptor] = []
        for architecture in [Platform.host.architecture, other] {
            try scratch.write("tree-\(architecture)/arch.txt", "\(architecture)\n")
            let tarPath = scratch.appending("\(architecture).tar")
            try await Command.run("/bin/tar", ["--sort=name", "--mtime=@0", "-C", scratch.appending("tree-\(architecture)"), "-cf", tarPath, "."])
            let tar = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tarPath)))
            let platform = Platform(os: "linux", architecture: architecture)
            let config = ImageConfig(platform: platform, diffIDs: [.sha256(of: tar)]).canonicalJSON()
            let manifest = Manifest(config: try store(config, .ociConfig, in: layout), layers: [try store(tar, .ociLayer, in: layout)])
            var entry = try store(manifest.canonicalJSON(), .ociManifest, in: layout)
            entry.platform = platform
            entries.append(entry)
        }
        let index = try store(Index(manifests: entries).canonicalJSON(), .ociIndex, in: layout)
        _ = try layout.recordImage(Reference(domain: "localhost", path: "x", tag: "1.0"), document: index, selected: index)
        let source = "\(registry.host)/kiln/multi:1"
        try await Command.run("skopeo", ["copy", "--all", "--dest-tls-verify=false", "oci:\(layoutPath):1.0", "docker://\(source)"])
        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path
        let pulled = await kiln("pull", "-q", source)
        try #require(pulled.status == 0, "\(pulled.stderr)")

        let copy = "\(registry.host)/kiln/copy:1"
        let pushed = await kiln("push", "-q", source, copy)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let copyDigest = try await skopeoDigest(copy)
        let indexDigest = try await skopeoDigest(source)
        let copied = try await Command.run("skopeo", ["inspect", "--tls-verify=false", "--raw", "docker://\(copy)"])
        #expect(copied.contains("\"config\""), "a single manifest, not an index: \(copied)")
        let digests = await kiln("inspect", "-f", "{{json .RepoDigests}}", source)
        #expect(
            digests.stdout
                == "[\"\(registry.host)/kiln/copy@\(copyDigest)\",\"\(registry.host)/kiln/multi@\(indexDigest)\"]\n",
            "\(digests.stderr)")
    }

    /// `pull --platform` of a single-platform image for another platform keeps the image and
    /// warns, as Docker does; a matching platform gets no warning.
    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func pullWarnsOnPlatformMismatch() async throws {
        let scratch = try TemporaryDirectory("kiln-pull-platform")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        let (layoutPath, _) = try await makeLayout(scratch)
        let source = "\(registry.host)/kiln/one-platform:1.0"
        try await Command.run("skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layoutPath):1.0", "docker://\(source)"])
        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path

        let other = Platform.host.architecture == "arm64" ? "linux/amd64" : "linux/arm64"
        let pulled = await kiln("pull", "--platform", other, source)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        let warning =
            "WARNING: image with reference \(source) was found but does not match the specified platform: wanted \(other), actual: \(Platform.host)\n"
        #expect(pulled.stdout.hasSuffix(warning + "\(source)\n"), "\(pulled.stdout)")

        let quiet = await kiln("pull", "-q", "--platform", other, source)
        #expect(quiet.stdout == "\(source)\n")
        #expect(quiet.stderr == warning)

        let matching = await kiln("pull", "--platform", Platform.host.description, source)
        #expect(matching.status == 0, "\(matching.stderr)")
        #expect(!matching.stdout.contains("WARNING"), "\(matching.stdout)")
        let unspecified = await kiln("pull", source)
        #expect(!unspecified.stdout.contains("WARNING"), "\(unspecified.stdout)")
    }

    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func configuredMirrorServesDockerHubNames() async throws {
        let scratch = try TemporaryDirectory("kiln-registry-mirror")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        let layoutPath = try await makeLayout(scratch).path
        try await Command.run(
            "skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layoutPath):1.0", "docker://\(registry.host)/library/busybox:1.0"])
        let config = try scratch.write(
            "config.lua",
            """
            return kiln.config {
              registries = { mirrors = { ["docker.io"] = { "http://\(registry.host)" } } },
            }
            """)

        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path
        kiln.environment["KILN_CONFIG"] = config
        let pulled = await kiln("pull", "-q", "busybox:1.0")
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.stdout == "docker.io/library/busybox:1.0\n")

        // kiln create (and run) pull a missing image through the same mirror.
        var other = kiln
        other.root = scratch.appending("other")
        let created = await other("create", "--name", "mirrored", "busybox:1.0", "/bin/true")
        #expect(created.status == 0, "\(created.stderr)")
        // Standard output of create and run is the container's, so their pull reports on
        // standard error.
        #expect(created.stderr.contains("Status: Downloaded newer image for busybox:1.0"))
        #expect(!created.stdout.contains("Pulling from"))
    }

    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func invalidRegistriesTableNamesKey() async throws {
        let scratch = try TemporaryDirectory("kiln-registry-badconfig")
        defer { scratch.remove() }
        let config = try scratch.write("config.lua", "return kiln.config { registries = { mirrorz = {} } }\n")
        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path
        kiln.environment["KILN_CONFIG"] = config
        let pulled = await kiln("pull", "busybox:1.0")
        #expect(pulled.status == 1)
        #expect(pulled.stderr.contains("invalid registries.mirrorz: unknown key; did you mean \"mirrors\"?"))
    }

    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func missingTagNamesReference() async throws {
        let scratch = try TemporaryDirectory("kiln-registry-missing")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path
        let result = await kiln("pull", "\(registry.host)/library/python:3.9")
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: manifest for \(registry.host)/library/python:3.9 not found: "))
    }

    @Test(.enabled(if: available, "needs docker-registry"))
    func unreachableRegistryNamesHost() async throws {
        let scratch = try TemporaryDirectory("kiln-registry-down")
        defer { scratch.remove() }
        let port = try FreePort.find()
        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path
        let result = await kiln("pull", "127.0.0.1:\(port)/kiln/app:1")
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot connect to registry 127.0.0.1:\(port)"))
    }

    /// A second pull of a complete image prints, as `docker pull` does, the header, the digest
    /// and "Image is up to date", with no line per layer.
    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func upToDatePullPrintsNoLayerLines() async throws {
        let scratch = try TemporaryDirectory("kiln-pull-up-to-date")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        let (layoutPath, _) = try await makeLayout(scratch)
        let source = "\(registry.host)/kiln/again:1.0"
        try await Command.run("skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layoutPath):1.0", "docker://\(source)"])
        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path

        let first = await kiln("pull", "--progress=plain", source)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("Pull complete"))
        let digest = try await skopeoDigest(source)

        let again = await kiln("pull", "--progress=plain", source)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(
            again.stdout == """
                1.0: Pulling from kiln/again
                Digest: \(digest)
                Status: Image is up to date for \(source)
                \(source)

                """)
    }

    /// A pull by digest prints the whole reference in its header, as `docker pull` does, and
    /// "Downloaded newer image" the first time the digest names the image.
    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func pullByDigestPrintsReference() async throws {
        let scratch = try TemporaryDirectory("kiln-pull-by-digest")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        let (layoutPath, _) = try await makeLayout(scratch)
        let other = "\(registry.host)/kiln/other:1.0"
        let tagged = "\(registry.host)/kiln/digest:1.0"
        for target in [other, tagged] {
            try await Command.run("skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layoutPath):1.0", "docker://\(target)"])
        }
        let digest = try await skopeoDigest(tagged)
        let byDigest = "\(registry.host)/kiln/digest@\(digest)"
        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path
        // The image is in the store, named only in another repository.
        let first = await kiln("pull", "-q", other)
        #expect(first.status == 0, "\(first.stderr)")

        let pulled = await kiln("pull", "--progress=plain", byDigest)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.stdout.hasPrefix("\(byDigest): Pulling from kiln/digest\n"), "\(pulled.stdout)")
        #expect(pulled.stdout.contains("Status: Downloaded newer image for \(byDigest)\n"), "\(pulled.stdout)")

        let again = await kiln("pull", "--progress=plain", byDigest)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("Status: Image is up to date for \(byDigest)\n"), "\(again.stdout)")
    }

    /// A pull of a new name whose blobs are all in the store prints Docker's
    /// `LAYER: Already exists` line for each layer.
    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func storedLayersPrintAlreadyExists() async throws {
        let scratch = try TemporaryDirectory("kiln-pull-already-exists")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        let (layoutPath, _) = try await makeLayout(scratch)
        let first = "\(registry.host)/kiln/same:1.0"
        let second = "\(registry.host)/kiln/same:2.0"
        for target in [first, second] {
            try await Command.run("skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layoutPath):1.0", "docker://\(target)"])
        }
        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path
        let pulled = await kiln("pull", "--progress=plain", first)
        #expect(pulled.status == 0, "\(pulled.stderr)")

        let again = await kiln("pull", "--progress=plain", second)
        #expect(again.status == 0, "\(again.stderr)")
        let layout = try OCILayoutDirectory(path: layoutPath)
        let manifestDescriptor = try layout.resolveImage("1.0")
        let manifestBytes = try layout.readBlob(manifestDescriptor.digest, limit: 1 << 20)
        guard case .manifest(let manifest) = try ImageDocument.decode(manifestBytes) else {
            Issue.record("the layout's image is not a manifest")
            return
        }
        for layer in manifest.layers {
            #expect(again.stdout.contains("\(layer.digest.shortHex): Already exists"), "\(again.stdout)")
            #expect(!again.stdout.contains("\(layer.digest.shortHex): Pulling fs layer"), "\(again.stdout)")
        }
        #expect(again.stdout.contains("Status: Downloaded newer image for \(second)"), "\(again.stdout)")
    }

    /// `kiln create -q` of a missing image pulls it without a word on stderr, as Docker's
    /// `-q` also drops "Unable to find image ... locally".
    @Test(.enabled(if: available && Host.isRoot, "needs root, docker-registry and skopeo"))
    func quietCreatePullsSilently() async throws {
        let scratch = try TemporaryDirectory("kiln-create-quiet")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        let (layoutPath, _) = try await makeLayout(scratch)
        let source = "\(registry.host)/kiln/quiet:1.0"
        try await Command.run("skopeo", ["copy", "--dest-tls-verify=false", "oci:\(layoutPath):1.0", "docker://\(source)"])
        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path

        let quiet = await kiln("create", "-q", source, "/bin/true")
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(quiet.stderr == "")
        #expect(quiet.stdout.trimmingCharacters(in: .whitespacesAndNewlines).count == 64)

        _ = await kiln("rmi", "-f", source)
        let loud = await kiln("create", source, "/bin/true")
        #expect(loud.status == 0, "\(loud.stderr)")
        #expect(loud.stderr.hasPrefix("Unable to find image '\(source)' locally\n1.0: Pulling from kiln/quiet\n"))
    }

    /// An image of more layers than an overlay stacks is rejected before its layers download.
    @Test(.enabled(if: available, "needs docker-registry and skopeo"))
    func pullRejectsTooManyLayers() async throws {
        let scratch = try TemporaryDirectory("kiln-pull-deep")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }
        try scratch.write("layer/file", "x\n")
        let archive = scratch.appending("deep.tar")
        try ArchiveBuilder.dockerArchive(
            at: archive, layers: Array(repeating: scratch.appending("layer"), count: 501), tag: "deep:501",
            scratch: scratch.path)
        let source = "\(registry.host)/kiln/deep:501"
        try await Command.run("skopeo", ["copy", "--dest-tls-verify=false", "docker-archive:\(archive)", "docker://\(source)"])

        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path
        let pulled = await kiln("pull", source)
        #expect(pulled.status == 1)
        #expect(
            pulled.stderr.contains("\(source): the image has 501 layers, more than the 500 that kiln can stack"),
            "\(pulled.stderr)")
        #expect(await kiln("images", "-q").stdout == "")
        let verified = await kiln("store", "verify")
        #expect(verified.status == 0, "\(verified.stdout)")
    }
}
