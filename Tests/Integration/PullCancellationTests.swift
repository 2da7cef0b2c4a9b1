import Foundation
import Glibc
import KilnSystem
import Testing

/// Ctrl-C and stalls during `kiln pull`, against a small registry of the test's own that sends
/// half of a layer and then nothing, as a registry process stopped with SIGSTOP would.
@Suite(
    .enabled(
        if: Host.isRoot && KilnBinary.isAvailable && Host.hasExecutable("bash") && Host.hasExecutable("python3"),
        "needs root, the kiln binary, bash and python3"))
struct PullCancellationTests {
    /// Serves `test/slow:1`: one gzip layer of a tar with an 8 MiB random file, whose blob
    /// response declares its full length, sends half of it and then keeps the connection open.
    /// Also serves `test/half:1`, whose first layer (a small file) downloads and whose second is
    /// missing (404 after a second, so the first is stored by then). `test/good:1` has that small
    /// layer only, and `test/bad:1` has it below a layer whose config gives a wrong diff ID, so
    /// the bad layer downloads but fails to unpack. It writes its port to `DIR/port` once it
    /// listens.
    static let stallingRegistry = #"""
        import gzip, hashlib, http.server, io, json, os, platform, sys, tarfile, time
        # A descriptor inherited from a test running beside this one (the write end of a pipe that
        # test reads to its end) would keep that test waiting for as long as this server runs.
        os.closerange(3, 65536)
        directory = sys.argv[1]
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w", format=tarfile.PAX_FORMAT) as archive:
            info = tarfile.TarInfo("noise")
            info.size = 8 << 20
            archive.addfile(info, io.BytesIO(os.urandom(info.size)))
        tar = data.getvalue()
        layer = gzip.compress(tar, compresslevel=1, mtime=0)
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        config = json.dumps({"architecture": arch, "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}}).encode()
        digest = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(layer), "size": len(layer)}]}).encode()
        open(directory + "/layer-digest", "w").write(digest(layer))

        small = io.BytesIO()
        with tarfile.open(fileobj=small, mode="w", format=tarfile.PAX_FORMAT) as archive:
            info = tarfile.TarInfo("small")
            info.size = 6
            archive.addfile(info, io.BytesIO(b"small\n"))
        small_tar = small.getvalue()
        small_layer = gzip.compress(small_tar, compresslevel=1, mtime=0)
        open(directory + "/small-layer-digest", "w").write(digest(small_layer))
        missing_layer = gzip.compress(b"missing", mtime=0)
        half_config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": [
            "sha256:" + hashlib.sha256(small_tar).hexdigest(), "sha256:" + hashlib.sha256(b"missing").hexdigest()]}}).encode()
        half_manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(half_config), "size": len(half_config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(blob), "size": len(blob)}
                for blob in (small_layer, missing_layer)]}).encode()

        documents = {}
        def image(name, layers, diff_ids):
            config = json.dumps({"architecture": arch, "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
            manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(blob), "size": len(blob)}
                    for blob in layers]}).encode()
            documents["/v2/test/%s/manifests/1" % name] = (manifest, "application/vnd.oci.image.manifest.v1+json")
            for blob in [config] + layers:
                documents["/v2/test/%s/blobs/%s" % (name, digest(blob))] = (blob, "application/octet-stream")
        other = io.BytesIO()
        with tarfile.open(fileobj=other, mode="w", format=tarfile.PAX_FORMAT) as archive:
            info = tarfile.TarInfo("other")
            info.size = 6
            archive.addfile(info, io.BytesIO(b"other\n"))
        bad_layer = gzip.compress(other.getvalue(), compresslevel=1, mtime=0)
        open(directory + "/bad-layer-digest", "w").write(digest(bad_layer))
        small_diff_id = "sha256:" + hashlib.sha256(small_tar).hexdigest()
        image("good", [small_layer], [small_diff_id])
        image("bad", [small_layer, bad_layer], [small_diff_id, "sha256:" + hashlib.sha256(b"not the layer").hexdigest()])

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def reply(self, body, content_type="application/json"):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_GET(self):
                if self.path == "/v2/":
                    self.reply(b"{}")
                elif self.path in documents:
                    self.reply(*documents[self.path])
                elif self.path == "/v2/test/slow/manifests/1":
                    self.reply(manifest, "application/vnd.oci.image.manifest.v1+json")
                elif self.path == "/v2/test/slow/blobs/" + digest(config):
                    self.reply(config, "application/octet-stream")
                elif self.path == "/v2/test/half/manifests/1":
                    self.reply(half_manifest, "application/vnd.oci.image.manifest.v1+json")
                elif self.path == "/v2/test/half/blobs/" + digest(half_config):
                    self.reply(half_config, "application/octet-stream")
                elif self.path == "/v2/test/half/blobs/" + digest(small_layer):
                    self.reply(small_layer, "application/octet-stream")
                elif self.path == "/v2/test/half/blobs/" + digest(missing_layer):
                    time.sleep(1)
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/v2/test/slow/blobs/" + digest(layer):
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(layer)))
                    self.end_headers()
                    self.wfile.write(layer[: len(layer) // 2])
                    self.wfile.flush()
                    time.sleep(120)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        open(directory + "/port.tmp", "w").write(str(server.server_address[1]))
        os.rename(directory + "/port.tmp", directory + "/port")
        server.serve_forever()
        """#

    /// Starts the stalling registry in `scratch` and returns its process and port.
    private func startRegistry(_ scratch: TemporaryDirectory) throws -> (ChildProcess, Int) {
        let script = scratch.appending("registry.py")
        try Self.stallingRegistry.write(toFile: script, atomically: true, encoding: .utf8)
        let devNull = try FileDescriptor.open("/dev/null", flags: O_RDWR)
        let process = try ChildProcess.spawn(
            "/usr/bin/env", arguments: ["python3", script, scratch.path],
            descriptors: [0: devNull.rawValue, 1: devNull.rawValue, 2: devNull.rawValue])
        for _ in 0..<300 {
            if let text = try? String(contentsOfFile: scratch.appending("port"), encoding: .utf8), let port = Int(text) {
                return (process, port)
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop(process)
        throw Command.Failure(command: "python3 registry.py", status: -1, stderr: "the test registry did not start")
    }

    /// Kills the registry. SIGKILL, because a handler thread sleeps in the middle of a response.
    private func stop(_ process: ChildProcess) {
        process.signal(SIGKILL)
        _ = process.waitBlocking()
    }

    /// Lists the entries of a store folder, or none when it does not exist.
    private func entries(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }

    @Test func interruptedPullLeavesNothingPartial() async throws {
        let scratch = try TemporaryDirectory("kiln-pull-cancel")
        defer { scratch.remove() }
        let kilnPath = try #require(KilnBinary.path)
        let (registry, port) = try startRegistry(scratch)
        defer { stop(registry) }
        let root = scratch.appending("root")

        // SIGINT once the first half of the layer has arrived and is being unpacked.
        let script = """
            set -u
            "$1" --root "$2" pull --progress=plain "127.0.0.1:$3/test/slow:1" >"$4/stdout" 2>"$4/stderr" &
            pid=$!
            sleep 3
            kill -INT "$pid"
            wait "$pid"
            echo "status $?"
            """
        let output = try await Command.status("bash", ["-c", script, "bash", kilnPath, root, String(port), scratch.path], timeout: 60)
        let stderr = (try? String(contentsOfFile: scratch.appending("stderr"), encoding: .utf8)) ?? ""
        let layer = try String(contentsOfFile: scratch.appending("layer-digest"), encoding: .utf8)

        #expect(output.stdout.contains("status 130"), "\(output.stdout) \(stderr)")
        #expect(stderr.contains("pull cancelled"), "\(stderr)")
        #expect(entries(root + "/ingest").isEmpty, "partial blobs left: \(entries(root + "/ingest"))")
        #expect(!entries(root + "/blobs/sha256").contains(String(layer.dropFirst("sha256:".count))))
        #expect(entries(root + "/snapshots").isEmpty, "snapshots left: \(entries(root + "/snapshots"))")
        #expect(entries(root + "/work").isEmpty, "scratch directories left: \(entries(root + "/work"))")
        let images = try await KilnBinary.run(root: root, ["images", "-q"])
        #expect(images.status == 0)
        #expect(images.stdout.isEmpty)
    }

    @Test func failedPullKeepsCompletedLayers() async throws {
        let scratch = try TemporaryDirectory("kiln-pull-cancel")
        defer { scratch.remove() }
        let (registry, port) = try startRegistry(scratch)
        defer { stop(registry) }
        let root = scratch.appending("root")

        let pull = try await KilnBinary.run(root: root, ["pull", "-q", "127.0.0.1:\(port)/test/half:1"])
        let smallLayer = try String(contentsOfFile: scratch.appending("small-layer-digest"), encoding: .utf8)
        #expect(pull.status != 0)
        #expect(pull.stderr.contains("not found"), "\(pull.stderr)")
        // The first layer was complete, so its blob and snapshot stay for the next pull.
        #expect(entries(root + "/blobs/sha256").contains(String(smallLayer.dropFirst("sha256:".count))))
        #expect(entries(root + "/snapshots").count == 1, "snapshots: \(entries(root + "/snapshots"))")
        #expect(entries(root + "/ingest").isEmpty, "partial blobs left: \(entries(root + "/ingest"))")
        #expect(entries(root + "/work").isEmpty, "scratch directories left: \(entries(root + "/work"))")
        let verify = try await KilnBinary.run(root: root, ["store", "verify"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(!verify.stdout.contains("Problems"), "\(verify.stdout)")

        let again = try await KilnBinary.run(root: root, ["pull", "127.0.0.1:\(port)/test/half:1"])
        #expect(again.status != 0)
        let shortID = String(smallLayer.dropFirst("sha256:".count).prefix(12))
        #expect(again.stdout.contains("\(shortID): Already exists"), "\(again.stdout)")

        let collected = try await KilnBinary.run(root: root, ["store", "gc"])
        #expect(collected.status == 0, "\(collected.stderr)")
        #expect(entries(root + "/blobs/sha256").isEmpty, "blobs left: \(entries(root + "/blobs/sha256"))")
        #expect(entries(root + "/snapshots").isEmpty, "snapshots left: \(entries(root + "/snapshots"))")
    }

    /// A FROM pull whose layer fails to unpack removes what it stored, as a failed `kiln pull`
    /// does, and keeps the blob that it shares with a stored image.
    @Test func failedFromUnpackRemovesItsBlobs() async throws {
        let scratch = try TemporaryDirectory("kiln-from-unpack")
        defer { scratch.remove() }
        let (registry, port) = try startRegistry(scratch)
        defer { stop(registry) }
        let root = scratch.appending("root")
        let context = scratch.appending("context")
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try "FROM 127.0.0.1:\(port)/test/bad:1\n".write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)

        let good = try await KilnBinary.run(root: root, ["pull", "-q", "127.0.0.1:\(port)/test/good:1"])
        #expect(good.status == 0, "\(good.stderr)")
        let blobs = entries(root + "/blobs/sha256").sorted()
        let snapshots = entries(root + "/snapshots").sorted()
        let smallLayer = try String(contentsOfFile: scratch.appending("small-layer-digest"), encoding: .utf8)
        #expect(blobs.contains(String(smallLayer.dropFirst("sha256:".count))))

        let build = try await KilnBinary.run(root: root, ["build", "-q", context])
        #expect(build.status == 1)
        #expect(build.stderr.contains("diff"), "\(build.stderr)")
        #expect(entries(root + "/blobs/sha256").sorted() == blobs, "the failed FROM pull left blobs behind")
        #expect(entries(root + "/snapshots").sorted() == snapshots, "the failed FROM pull left snapshots behind")
        #expect(entries(root + "/ingest").isEmpty, "partial blobs left: \(entries(root + "/ingest"))")
        let verify = try await KilnBinary.run(root: root, ["store", "verify"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        #expect(!verify.stdout.contains("Problems"), "\(verify.stdout)")
        let images = try await KilnBinary.run(root: root, ["images", "-q"])
        #expect(images.stdout.split(separator: "\n").count == 1, "\(images.stdout)")
    }

    @Test func registryDeathNamesImageAndLayer() throws {
        let scratch = try TemporaryDirectory("kiln-pull-registry-death")
        defer { scratch.remove() }
        let kilnPath = try #require(KilnBinary.path)
        let (registry, port) = try startRegistry(scratch)
        defer { stop(registry) }
        let root = scratch.appending("root")
        let config = scratch.appending("config.lua")
        try "return kiln.config { registries = { max_attempts = 2 } }\n".write(toFile: config, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["KILN_CONFIG"] = config

        // SIGKILL to the registry once the first half of the layer has arrived.
        let script = """
            set -u
            "$1" --root "$2" pull -q "127.0.0.1:$3/test/slow:1" >"$4/stdout" 2>"$4/stderr" &
            pid=$!
            sleep 3
            kill -KILL "$5"
            wait "$pid"
            echo "status $?"
            """
        let output = try Command.status(
            "bash", ["-c", script, "bash", kilnPath, root, String(port), scratch.path, String(registry.pid)],
            environment: environment, timeout: 120)
        let stderr = (try? String(contentsOfFile: scratch.appending("stderr"), encoding: .utf8)) ?? ""
        let layer = try String(contentsOfFile: scratch.appending("layer-digest"), encoding: .utf8)

        #expect(output.stdout.contains("status 1"), "\(output.stdout) \(stderr)")
        #expect(
            stderr.contains("error: pull of 127.0.0.1:\(port)/test/slow:1 failed at layer \(layer): "),
            "\(stderr)")
        #expect(entries(root + "/ingest").isEmpty, "partial blobs left: \(entries(root + "/ingest"))")
        #expect(entries(root + "/work").isEmpty, "scratch directories left: \(entries(root + "/work"))")
    }

    @Test func interruptedFromPullEndsBuild() async throws {
        let scratch = try TemporaryDirectory("kiln-from-cancel")
        defer { scratch.remove() }
        let kilnPath = try #require(KilnBinary.path)
        let (registry, port) = try startRegistry(scratch)
        defer { stop(registry) }
        let root = scratch.appending("root")
        let context = scratch.appending("context")
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try "FROM 127.0.0.1:\(port)/test/slow:1\n".write(toFile: context + "/Dockerfile", atomically: true, encoding: .utf8)

        // SIGINT while the FROM pull waits for the second half of the layer.
        let script = """
            set -u
            "$1" --root "$2" build -q "$3" >"$4/stdout" 2>"$4/stderr" &
            pid=$!
            sleep 3
            kill -INT "$pid"
            wait "$pid"
            echo "status $?"
            """
        let output = try await Command.status("bash", ["-c", script, "bash", kilnPath, root, context, scratch.path], timeout: 60)
        let stderr = (try? String(contentsOfFile: scratch.appending("stderr"), encoding: .utf8)) ?? ""

        #expect(output.stdout.contains("status 130"), "\(output.stdout) \(stderr)")
        #expect(stderr.contains("build cancelled"), "\(stderr)")
        #expect(!stderr.contains("pulling it failed"), "\(stderr)")
        #expect(entries(root + "/ingest").isEmpty, "partial blobs left: \(entries(root + "/ingest"))")
        #expect(entries(root + "/work").isEmpty, "scratch directories left: \(entries(root + "/work"))")
    }

    @Test func stalledPullNamesRegistryAndReference() async throws {
        let scratch = try TemporaryDirectory("kiln-pull-stall")
        defer { scratch.remove() }
        let (registry, port) = try startRegistry(scratch)
        defer { stop(registry) }
        let root = scratch.appending("root")
        let config = scratch.appending("config.lua")
        try "return kiln.config { registries = { read_timeout = 1, max_attempts = 2 } }\n".write(toFile: config, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["KILN_CONFIG"] = config

        let result = try await KilnBinary.run(
            root: root, ["pull", "-q", "127.0.0.1:\(port)/test/slow:1"], environment: environment, timeout: 60)
        let layer = try String(contentsOfFile: scratch.appending("layer-digest"), encoding: .utf8)

        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "pull of 127.0.0.1:\(port)/test/slow:1 failed: registry 127.0.0.1:\(port) stopped sending layer \(layer) "
                    + "(no data for 1 s, gave up after 2 attempts)"), "\(result.stderr)")
        #expect(entries(root + "/ingest").isEmpty, "partial blobs left: \(entries(root + "/ingest"))")
        #expect(entries(root + "/snapshots").isEmpty, "snapshots left: \(entries(root + "/snapshots"))")
        #expect(entries(root + "/work").isEmpty, "scratch directories left: \(entries(root + "/work"))")
    }
}
