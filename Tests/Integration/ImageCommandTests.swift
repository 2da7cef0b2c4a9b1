import Foundation
import Glibc
import KilnImage
import KilnLayer
import KilnStore
import KilnSystem
import Testing

/// End-to-end checks of the image commands and their Docker output shapes, run in-process
/// against a temporary store.
@Suite struct ImageCommandTests {
    private func fixture(_ id: String) throws -> String {
        try #require(ArchiveFixture.all.first { $0.id == id }).path
    }

    /// A store with the A00 image (`kiln-fixture:1`, two layers, created 2024-05-01).
    private func loadedStore(_ scratch: TemporaryDirectory) async throws -> KilnInvocation {
        let kiln = KilnInvocation(root: scratch.appending("root"), workingDirectory: scratch.path)
        let result = await kiln("load", "-q", "-i", try fixture("A00"))
        try #require(result.status == 0, "load failed: \(result.stderr)")
        return kiln
    }

    private func smallTarball(_ scratch: TemporaryDirectory, name: String = "rootfs.tar") async throws -> String {
        try scratch.write("tree/etc/os-release", "NAME=import-test\n")
        try scratch.write("tree/bin/tool", "#!/bin/sh\necho tool\n", mode: 0o755)
        let path = scratch.appending(name)
        try await Command.run("/bin/tar", ["--numeric-owner", "-C", scratch.appending("tree"), "-cf", path, "."])
        return path
    }

    @Test func imagesTableHasDockerColumns() async throws {
        let scratch = try TemporaryDirectory("kiln-images")
        defer { scratch.remove() }
        let kiln = try await loadedStore(scratch)
        let table = await kiln("images")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("REPOSITORY     TAG       IMAGE ID       CREATED") == true, "\(lines)")
        #expect(lines.first?.hasSuffix("SIZE") == true)
        #expect(lines.last?.hasPrefix("kiln-fixture   1         9bd4f7060d84   ") == true, "\(lines)")
        #expect(lines.last?.contains(" years ago   ") == true)
        #expect(lines.last?.hasSuffix("   20.5kB") == true)

        let custom = await kiln("images", "--format", "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Size}}")
        #expect(
            custom.stdout
                == "REPOSITORY     TAG       IMAGE ID       SIZE\nkiln-fixture   1         9bd4f7060d84   20.5kB\n")
        let template = await kiln("images", "--format", "{{.Repository}}:{{.Tag}}")
        #expect(template.stdout == "kiln-fixture:1\n")
        let quiet = await kiln("images", "-q")
        #expect(quiet.stdout == "9bd4f7060d84\n")
        let full = await kiln("images", "-q", "--no-trunc")
        #expect(full.stdout.hasPrefix("sha256:9bd4f7060d84"))
        #expect(full.stdout.count == 72)
        let digests = await kiln("images", "--digests", "--format", "table {{.Repository}}\\t{{.Digest}}")
        #expect(digests.stdout == "REPOSITORY     DIGEST\nkiln-fixture   <none>\n")
    }

    @Test func imagesJSONHasDockerFieldNames() async throws {
        let scratch = try TemporaryDirectory("kiln-images")
        defer { scratch.remove() }
        let kiln = try await loadedStore(scratch)
        let result = await kiln("images", "--format", "json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: String])
        #expect(
            Set(object.keys) == [
                "Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size", "Tag",
                "UniqueSize", "VirtualSize",
            ])
        #expect(object["Repository"] == "kiln-fixture")
        #expect(object["CreatedAt"] == "2024-05-01 12:00:00 +0000 UTC")
        #expect(result.stdout.contains("\\u003cnone\\u003e"))
    }

    @Test func imageFilters() async throws {
        let scratch = try TemporaryDirectory("kiln-images")
        defer { scratch.remove() }
        let kiln = try await loadedStore(scratch)
        let tarball = try await smallTarball(scratch)
        _ = await kiln("import", "-c", "LABEL team=core tier=base", tarball, "newer:1")
        _ = await kiln("import", tarball, "newer:1")

        func names(_ arguments: String...) async -> [String] {
            let result = await kiln.run(["images", "--format", "{{.Repository}}:{{.Tag}}"] + arguments)
            return result.stdout.split(separator: "\n").map(String.init)
        }
        #expect(await names() == ["newer:1", "<none>:<none>", "kiln-fixture:1"])
        #expect(await names("-a").count == 3)
        #expect(await names("--filter", "dangling=true") == ["<none>:<none>"])
        #expect(await names("--filter", "dangling=false") == ["newer:1", "kiln-fixture:1"])
        #expect(await names("--filter", "reference=kiln-*") == ["kiln-fixture:1"])
        #expect(await names("kiln-fixture") == ["kiln-fixture:1"])
        #expect(await names("--filter", "label=team=core") == ["<none>:<none>"])
        #expect(await names("--filter", "since=kiln-fixture:1", "--filter", "dangling=false") == ["newer:1"])
        #expect(await names("--filter", "before=newer:1", "--filter", "dangling=false") == ["kiln-fixture:1"])
        let invalid = await kiln("images", "--filter", "colour=red")
        #expect(invalid.status == 125)
        #expect(invalid.stderr.contains("invalid filter 'colour'"))
    }

    @Test func importAppliesChangesAndMessage() async throws {
        let scratch = try TemporaryDirectory("kiln-import")
        defer { scratch.remove() }
        let kiln = KilnInvocation(root: scratch.appending("root"), workingDirectory: scratch.path)
        _ = try await smallTarball(scratch)
        let result = await kiln(
            "import", "-c", "CMD [\"/bin/tool\", \"--flag\"]", "-c", "ENTRYPOINT /bin/sh", "-c",
            "ENV A=1 B=\"two words\"",
            "-c", "EXPOSE 80 53/udp", "-c", "LABEL maintainer=kiln", "-c", "USER 1001:1002", "-c", "VOLUME /data",
            "-c", "WORKDIR /srv", "-c", "STOPSIGNAL SIGINT", "-m", "made by a test", "--platform", "linux/arm64",
            "rootfs.tar", "imported:1")
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.hasPrefix("sha256:"))
        #expect(result.stdout.count == 72)

        let inspect = await kiln("image", "inspect", "imported:1")
        let documents = try #require(
            try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]])
        let document = try #require(documents.first)
        let config = try #require(document["Config"] as? [String: Any])
        #expect(config["Cmd"] as? [String] == ["/bin/tool", "--flag"])
        #expect(config["Entrypoint"] as? [String] == ["/bin/sh", "-c", "/bin/sh"])
        #expect(config["Env"] as? [String] == ["A=1", "B=two words"])
        #expect((config["ExposedPorts"] as? [String: Any]).map { Set($0.keys) } == ["80/tcp", "53/udp"])
        #expect(config["Labels"] as? [String: String] == ["maintainer": "kiln"])
        #expect(config["User"] as? String == "1001:1002")
        #expect((config["Volumes"] as? [String: Any]).map { Array($0.keys) } == ["/data"])
        #expect(config["WorkingDir"] as? String == "/srv")
        #expect(config["StopSignal"] as? String == "SIGINT")
        #expect(document["Architecture"] as? String == "arm64")
        #expect(document["Variant"] as? String == "v8")
        #expect(document["Comment"] as? String == "made by a test")
        #expect(inspect.stdout.hasPrefix("[\n    {\n        \"Id\": \"sha256:"))

        let history = await kiln("history", "--format", "{{.CreatedBy}}|{{.Comment}}", "imported:1")
        #expect(history.stdout == "|made by a test\n")
        let unknown = await kiln("import", "-c", "RUN echo hi", "rootfs.tar")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("RUN is not a valid change command"))
    }

    @Test func importFromStandardInput() async throws {
        let scratch = try TemporaryDirectory("kiln-import")
        defer { scratch.remove() }
        let kiln = KilnInvocation(root: scratch.appending("root"), workingDirectory: scratch.path)
        let bytes = await [UInt8](try Data(contentsOf: URL(fileURLWithPath: try smallTarball(scratch))))
        let result = await kiln("import", "-", "piped", stdin: bytes)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let history = await kiln("history", "--format", "{{.Comment}}", "piped")
        #expect(history.stdout == "Imported from -\n")
        let notTar = await kiln("import", "-", stdin: Array("plain text, not a tarball".utf8))
        #expect(notTar.status == 1)
        #expect(notTar.stderr.hasPrefix("error: invalid archive standard input: malformed archive: "), "\(notTar.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: kiln.root + "/blobs/sha256").count == 3)
    }

    /// A tarball whose entry goes through a link loop names the entry and the input, from a
    /// file and from standard input, and not the layer that kiln compressed from it.
    @Test func importErrorNamesEntryAndInput() async throws {
        let scratch = try TemporaryDirectory("kiln-import")
        defer { scratch.remove() }
        let kiln = KilnInvocation(root: scratch.appending("root"), workingDirectory: scratch.path)
        var bytes: [UInt8] = []
        let writer = try TarWriter { bytes.append(contentsOf: $0) }
        var loop = TarEntry(path: "a", kind: .symbolicLink)
        loop.linkTarget = "a"
        try writer.writeHeader(loop)
        try writer.writeHeader(TarEntry(path: "a/b", kind: .regular))
        try writer.finish()
        try Data(bytes).write(to: URL(fileURLWithPath: scratch.appending("loop.tar")))

        let fromFile = await kiln("import", "loop.tar", "hostile:1")
        #expect(fromFile.status == 1)
        #expect(
            fromFile.stderr.hasPrefix("error: invalid archive loop.tar: entry \"a/b\": open \"a\" failed: Too many levels of symbolic links"),
            "\(fromFile.stderr)")
        let fromStandardInput = await kiln("import", "-", "hostile:2", stdin: bytes)
        #expect(fromStandardInput.status == 1)
        #expect(
            fromStandardInput.stderr.hasPrefix("error: invalid archive standard input: entry \"a/b\": "), "\(fromStandardInput.stderr)")
        for result in [fromFile, fromStandardInput] {
            #expect(!result.stderr.contains("layer"), "\(result.stderr)")
            #expect(!result.stderr.contains(kiln.root), "\(result.stderr)")
        }
        #expect(await kiln("images", "-q").stdout == "")
    }

    @Test(.enabled(if: Host.hasExecutable("python3"), "needs python3 for the HTTP server"))
    func importFromURL() async throws {
        let scratch = try TemporaryDirectory("kiln-import")
        defer { scratch.remove() }
        _ = try await smallTarball(scratch)
        let port = try FreePort.find()
        let devNull = try FileDescriptor.open("/dev/null", flags: O_WRONLY)
        let server = try HelperServer.spawn(
            "python3", arguments: ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", scratch.path],
            descriptors: [0: 0, 1: devNull.rawValue, 2: devNull.rawValue])
        defer {
            server.signal(SIGKILL)
            _ = server.waitBlocking()
        }
        let deadline = Date().addingTimeInterval(60)
        while !FreePort.isListening(port) && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }

        let kiln = KilnInvocation(root: scratch.appending("root"))
        let url = "http://127.0.0.1:\(port)/rootfs.tar"
        let result = await kiln("import", url, "fromurl:1")
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr == "Downloading from \(url)\n")
        #expect(await kiln("history", "--format", "{{.Comment}}", "fromurl:1").stdout == "Imported from \(url)\n")
        let missing = await kiln("import", "http://127.0.0.1:\(port)/missing.tar")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("failed: HTTP status 404"))
    }

    @Test func tagAndRemoveReportAsDocker() async throws {
        let scratch = try TemporaryDirectory("kiln-rmi")
        defer { scratch.remove() }
        let kiln = try await loadedStore(scratch)
        #expect(await kiln("tag", "kiln-fixture:1", "copy").stdout == "")
        let untag = await kiln("rmi", "copy")
        #expect(untag.stdout == "Untagged: copy:latest\n")

        let inspect = await kiln("image", "inspect", "-f", "{{json .RootFS.Layers}}", "kiln-fixture:1")
        let diffIDs = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String])
        let chainIDs = ChainID.chainIDs(for: try diffIDs.map { try Digest(parsing: $0) })
        let remove = await kiln("rmi", "kiln-fixture:1")
        #expect(
            remove.stdout
                == "Untagged: kiln-fixture:1\nDeleted: sha256:9bd4f7060d847f4eb67fa5c70aeca0ee605a2e0ff93eb532d7d9df4b0db775e8\n"
                + chainIDs.reversed().map { "Deleted: \($0)\n" }.joined())
        #expect(try FileManager.default.contentsOfDirectory(atPath: kiln.root + "/blobs/sha256").isEmpty)

        let missing = await kiln("rmi", "nothing")
        #expect(missing.status == 1)
        #expect(missing.stderr == "error: No such image: nothing:latest\n")
    }

    @Test func removalRefusesImageOfContainer() async throws {
        let scratch = try TemporaryDirectory("kiln-rmi")
        defer { scratch.remove() }
        let kiln = try await loadedStore(scratch)
        let store = try Store.open(root: kiln.root)
        let image = try store.image(named: "kiln-fixture:1")
        try store.saveContainer(
            ContainerRecord(
                id: "0123456789abcdef", imageManifest: image.manifest.digest, imageID: image.id, state: "exited",
                created: 1))
        let refused = await kiln("rmi", "kiln-fixture:1")
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("(must force) - container 0123456789ab is using its referenced image 9bd4f7060d84"))
        // As in Docker, -f deletes the image record; the container keeps its content.
        let forced = await kiln("rmi", "-f", "kiln-fixture:1")
        #expect(forced.status == 0)
        #expect(forced.stdout.hasPrefix("Untagged: kiln-fixture:1\nDeleted: sha256:9bd4f7060d84"))
        #expect(store.hasBlob(image.manifest.digest))
        let verify = await kiln("store", "verify", "--deep")
        #expect(verify.status == 0, "verify: \(verify.stdout)")
    }

    @Test func historyListsNewestFirst() async throws {
        let scratch = try TemporaryDirectory("kiln-history")
        defer { scratch.remove() }
        let kiln = try await loadedStore(scratch)
        let history = await kiln("history", "--format", "table {{.ID}}\\t{{.CreatedBy}}\\t{{.Size}}", "kiln-fixture:1")
        #expect(
            history.stdout == """
                IMAGE          CREATED BY            SIZE
                9bd4f7060d84   COPY motd /etc/motd   10.2kB
                <missing>      ADD base /            10.2kB

                """)
        let quiet = await kiln("history", "-q", "kiln-fixture:1")
        #expect(quiet.stdout == "9bd4f7060d84\n<missing>\n")
        let exact = await kiln("history", "--human=false", "--format", "{{.CreatedAt}} {{.Size}}", "kiln-fixture:1")
        #expect(exact.stdout == "2024-05-01T12:00:01Z 10240\n2024-05-01T12:00:00Z 10240\n")
    }

    @Test func inspectPrintsFoundImagesAndFailsForMissing() async throws {
        let scratch = try TemporaryDirectory("kiln-inspect")
        defer { scratch.remove() }
        let kiln = try await loadedStore(scratch)
        let result = await kiln("inspect", "kiln-fixture:1", "missing:1")
        #expect(result.status == 1)
        #expect(result.stderr.contains("No such object: missing:1"))
        let documents = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(documents.count == 1)
        let keys = result.stdout.split(separator: "\n").filter { $0.hasPrefix("        \"") }.map {
            $0.split(separator: "\"")[1]
        }
        #expect(Array(keys.prefix(6)) == ["Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created"])
        let formatted = await kiln("inspect", "-f", "{{.Os}}/{{.Architecture}} {{.Config.Cmd}}", "kiln-fixture:1")
        #expect(formatted.stdout == "linux/amd64 [/bin/sh]\n")
        let container = await kiln("inspect", "--type", "container", "kiln-fixture:1")
        #expect(container.stderr.contains("No such container: kiln-fixture:1"))
        let image = await kiln("inspect", "--type", "image", "missing")
        #expect(image.status == 1)
        #expect(image.stderr.contains("No such image: missing:latest"), "\(image.stderr)")
    }

    @Test func saveToStandardOutputLoadsElsewhere() async throws {
        let scratch = try TemporaryDirectory("kiln-save")
        defer { scratch.remove() }
        let kiln = try await loadedStore(scratch)
        for format in ["docker", "oci"] {
            let saved = await kiln("save", "--format", format, "kiln-fixture")
            #expect(saved.status == 0)
            let other = KilnInvocation(root: scratch.appending("other-\(format)"))
            let loaded = await other("load", stdin: Array(saved.stdout.utf8))
            #expect(loaded.stdout == "Loaded image: kiln-fixture:1\n", "\(format): \(loaded.stderr)")
            #expect(await other("images", "-q").stdout == "9bd4f7060d84\n")
        }
        let toFile = await kiln("save", "-o", "out.tar", "9bd4f7060d84")
        #expect(toFile.status == 0)
        let listing = try await Command.run("/bin/tar", ["-tf", scratch.appending("out.tar")])
        #expect(listing.contains("manifest.json"))
        #expect(!FileManager.default.fileExists(atPath: scratch.appending(".out.tar")))
    }

    @Test func prunePromptsAndReportsReclaimedSpace() async throws {
        let scratch = try TemporaryDirectory("kiln-prune")
        defer { scratch.remove() }
        let kiln = KilnInvocation(root: scratch.appending("root"), workingDirectory: scratch.path)
        let tarball = try await smallTarball(scratch)
        let first = await kiln("import", "-m", "first", tarball, "app:1")
        _ = await kiln("import", "-m", "second", tarball, "app:1")
        let firstID = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let declined = await kiln("image", "prune", stdin: Array("n\n".utf8))
        #expect(
            declined.stdout
                == "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ")
        #expect(await kiln("images", "-a", "-q").stdout.split(separator: "\n").count == 2)

        let accepted = await kiln("image", "prune", stdin: Array("y\n".utf8))
        #expect(accepted.stdout.contains("Deleted Images:\ndeleted: \(firstID)\n"), "\(accepted.stdout)")
        #expect(
            accepted.stdout.hasSuffix("\n\nTotal reclaimed space: \(accepted.stdout.split(separator: " ").last ?? "")"))
        let nothing = await kiln("image", "prune", "-f")
        #expect(nothing.stdout == "Total reclaimed space: 0B\n")
        let all = await kiln("image", "prune", "-a", "-f")
        #expect(all.stdout.hasPrefix("Deleted Images:\nuntagged: app:1\n"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: kiln.root + "/blobs/sha256").isEmpty)
    }

    @Test func systemDiskUsageShape() async throws {
        let scratch = try TemporaryDirectory("kiln-df")
        defer { scratch.remove() }
        let kiln = try await loadedStore(scratch)
        let usage = await kiln("system", "df")
        let lines = usage.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE")
        #expect(lines.count == 5)
        #expect(lines[1].hasPrefix("Images          1         0         "))
        #expect(lines[1].hasSuffix("(100%)"))
        #expect(lines[4].hasPrefix("Build Cache     0         0         0B"))
        let verbose = await kiln("system", "df", "-v")
        #expect(verbose.stdout.hasPrefix("Images space usage:\n\nREPOSITORY     TAG       IMAGE ID       CREATED"))
        #expect(verbose.stdout.contains("\nContainers space usage:\n\nCONTAINER ID"))
        #expect(verbose.stdout.contains("\nBuild cache usage: 0B\n"))
    }

    @Test func deepVerifyFindsTamperingAndLoadingAgainRepairs() async throws {
        let scratch = try TemporaryDirectory("kiln-tamper")
        defer { scratch.remove() }
        let kiln = try await loadedStore(scratch)
        let store = try Store.open(root: kiln.root)
        let layer = try #require(try store.layers(of: store.image(named: "kiln-fixture:1")).first)
        let path = store.layout.blob(layer.digest)
        chmod(path, 0o644)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 600)
        handle.write(Data([0x58]))
        try handle.close()
        chmod(path, 0o444)

        #expect(await kiln("store", "verify").status == 0)
        let deep = await kiln("store", "verify", "--deep")
        #expect(deep.status == 1)
        #expect(deep.stdout.contains("Problems:\n  blob \(layer.digest) at \(path) is corrupt: its content hashes to"))
        let save = await kiln("save", "kiln-fixture:1")
        #expect(save.status == 1)
        #expect(save.stderr.contains("blob \(layer.digest) at \(path) is corrupt"))
        let pushed = await kiln("push", "kiln-fixture:1", "oci:" + scratch.appending("layout"))
        #expect(pushed.status == 1)
        #expect(pushed.stderr.contains("blob \(layer.digest) at \(path) is corrupt: its content hashes to"), "\(pushed.stderr)")
        #expect(pushed.stderr.contains("kiln store verify --deep"), "\(pushed.stderr)")

        #expect(await kiln("load", "-q", "-i", try fixture("A00")).status == 0)
        #expect(await kiln("store", "verify", "--deep").status == 0)

        unlink(path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/etc/passwd")
        let linked = await kiln("save", "kiln-fixture:1")
        #expect(linked.stderr.contains("blob \(layer.digest) at \(path) is corrupt: it is a symbolic link"))
        #expect(await kiln("store", "verify").status == 1)
    }

    @Test func analyzeFindsOverwrittenAndDeletedFiles() async throws {
        let scratch = try TemporaryDirectory("kiln-analyze")
        defer { scratch.remove() }
        try scratch.write("one/app/big.bin", String(repeating: "a", count: 3000))
        try scratch.write("one/app/cache.bin", String(repeating: "c", count: 2000))
        try scratch.write("one/app/keep.txt", "keep")
        try scratch.write("two/app/big.bin", "small now")
        try scratch.write("two/app/.wh.cache.bin", "")
        try scratch.write("two/app/new.txt", "new")
        let archive = scratch.appending("layers.tar")
        try ArchiveBuilder.dockerArchive(
            at: archive, layers: [scratch.appending("one"), scratch.appending("two")], tag: "wasteful:1",
            createdBy: ["COPY app /app", "RUN rm /app/cache.bin && make"], scratch: scratch.path)
        let kiln = KilnInvocation(root: scratch.appending("root"))
        #expect(await kiln("load", "-q", "-i", archive).status == 0)

        let result = await kiln("image", "analyze", "--format", "json", "wasteful:1")
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let analysis = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(analysis["WastedBytes"] as? Int == 5000)
        let layers = try #require(analysis["Layers"] as? [[String: Any]])
        #expect(layers.map { $0["FilesAdded"] as? Int } == [3, 1])
        #expect(layers.map { $0["FilesChanged"] as? Int } == [0, 1])
        #expect(layers.map { $0["FilesRemoved"] as? Int } == [0, 1])
        #expect(layers.map { $0["WastedBytes"] as? Int } == [5000, 0])
        #expect(layers.map { $0["CreatedBy"] as? String } == ["COPY app /app", "RUN rm /app/cache.bin && make"])
        let files = try #require(analysis["WastedFiles"] as? [[String: Any]])
        #expect(files.map { $0["Path"] as? String } == ["/app/big.bin", "/app/cache.bin"])
        #expect(files.map { $0["Removed"] as? Bool } == [false, true])

        let table = await kiln("image", "analyze", "wasteful:1")
        #expect(table.stdout.hasPrefix("LAYER     SIZE      ADDED     CHANGED   REMOVED   WASTED    CREATED BY\n"))
        #expect(
            table.stdout.contains(
                "Wasted space, biggest first:\nSIZE      LAYER     HIDDEN BY         PATH\n3kB       0         1 (overwritten)   /app/big.bin\n"
            ))
        #expect(table.stdout.hasSuffix("5kB wasted (100%) in 2 files\n") == false)
        #expect(table.stdout.contains("5kB wasted"))
    }

    /// An archive of more layers than an overlay stacks is rejected before its blobs are stored.
    @Test func loadRejectsTooManyLayers() async throws {
        let scratch = try TemporaryDirectory("kiln-deep-load")
        defer { scratch.remove() }
        try scratch.write("layer/file", "x\n")
        let archive = scratch.appending("deep.tar")
        try ArchiveBuilder.dockerArchive(
            at: archive, layers: Array(repeating: scratch.appending("layer"), count: 501), tag: "deep:501",
            scratch: scratch.path)
        let kiln = KilnInvocation(root: scratch.appending("root"))

        let loaded = await kiln("load", "-i", archive)
        #expect(loaded.status == 1)
        #expect(
            loaded.stderr.contains("error: deep:501: the image has 501 layers, more than the 500 that kiln can stack"),
            "\(loaded.stderr)")
        #expect(loaded.stderr.contains("hint: rebuild the image with fewer layers"), "\(loaded.stderr)")
        #expect(await kiln("images", "-q").stdout == "")
        let verified = await kiln("store", "verify")
        #expect(verified.status == 0, "\(verified.stdout)")
    }
}
