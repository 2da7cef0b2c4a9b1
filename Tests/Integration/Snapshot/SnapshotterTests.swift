import Foundation
import KilnImage
import KilnSnapshot
import KilnStore
import Testing

/// Snapshots: unpacked once, mounted as overlays however deep the chain, the copying fallback,
/// and container filesystems for `kiln run`.
@Suite(.enabled(if: BuildHarness.isReady, "snapshot tests need root, overlayfs and busybox-static"))
struct SnapshotterTests {
    @Test func deepChainsMountPastTheOptionLimit() throws {
        let scratch = try TemporaryDirectory("kiln-deep")
        defer { scratch.remove() }
        // 300 lower directories with long names: about 30 KB of options, far past one page.
        let longName = String(repeating: "l", count: 80)
        var lowers: [String] = []
        for index in 0..<300 {
            let path = scratch.appending("\(longName)-\(index)")
            try scratch.write("\(longName)-\(index)/file-\(index)", "\(index)\n")
            lowers.append(path)
        }
        try scratch.write("upper/.keep", "")
        try FileManager.default.createDirectory(atPath: scratch.appending("work"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.appending("merged"), withIntermediateDirectories: true)
        let mount = OverlayMount(
            lowerDirectories: lowers.reversed(), upperDirectory: scratch.appending("upper"),
            workDirectory: scratch.appending("work"), target: scratch.appending("merged"))
        try mount.mount()
        defer { try? OverlayMount.unmount(scratch.appending("merged")) }
        #expect(Inspect.text(scratch.appending("merged/file-0")) == "0\n")
        #expect(Inspect.text(scratch.appending("merged/file-299")) == "299\n")

        let tooDeep = OverlayMount(
            lowerDirectories: Array(repeating: lowers[0], count: 501), upperDirectory: nil, workDirectory: nil,
            target: scratch.appending("merged"))
        #expect(throws: SnapshotError.chainTooDeep(layers: 501, maximum: 500)) { try tooDeep.mount() }
    }

    @Test func layersUnpackOnceAndContainersRemount() throws {
        let root = try BuildHarness.storeRoot()
        let store = try Store.open(root: root)
        let image = try store.image(named: BuildHarness.baseImage)
        let layers = try store.layers(of: image).map { SnapshotLayer(descriptor: $0.descriptor, diffID: $0.diffID) }
        let snapshotter = Snapshotter(store: store)
        let lease = try store.createLease(label: "snapshot test")
        defer { try? lease.release() }
        let chain = try snapshotter.prepare(layers, lease: lease)
        let path = store.snapshotPath(try #require(chain.last))
        let before = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
        _ = try snapshotter.prepare(layers, lease: lease)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int == before)

        let directory = try TemporaryDirectory("kiln-container")
        defer { directory.remove() }
        let filesystem = try snapshotter.makeContainerFilesystem(over: chain, in: directory.appending("c1"))
        #expect(filesystem.isMounted)
        #expect(Inspect.isRegularFile(filesystem.rootPath + "/bin/busybox"))
        try Data("written\n".utf8).write(to: URL(fileURLWithPath: filesystem.rootPath + "/tmp/new"))
        try snapshotter.unmount(filesystem)
        #expect(!filesystem.isMounted)
        #expect(Inspect.text(filesystem.upperPath + "/tmp/new") == "written\n")
        try snapshotter.mount(filesystem)
        #expect(Inspect.text(filesystem.rootPath + "/tmp/new") == "written\n")
        try snapshotter.unmount(filesystem)
    }

    @Test func copyingFallbackBuildsTheSameFilesystem() async throws {
        let fixture = try CaseFixture("24-whiteout-and-opaque-dir")
        defer { fixture.remove() }
        try fixture.context.write(
            "Dockerfile.more",
            """
            FROM kiln-test/busybox:1
            RUN mkdir -p /x/y && echo 1 > /x/y/z && ln -s /x/y/z /x/link && chmod 700 /x
            RUN rm -rf /x/y && mkdir /x/y && echo 2 > /x/y/new && chown -h 1001 /x/link
            COPY Dockerfile /copied

            """)
        var results: [String: String] = [:]
        for method in ["overlay", "copy"] {
            var kiln = try BuildHarness.kiln(in: fixture.context.path)
            kiln.environment["KILN_SNAPSHOTTER"] = method
            for file in ["Dockerfile", "Dockerfile.more"] {
                let image = BuildHarness.uniqueName("copy-\(method)")
                let result = await kiln("build", "--no-cache", "--progress=plain", "-t", image, "-f", file, ".")
                try #require(result.status == 0, "\(method) \(file): \(result.stderr)")
                let root = try fixture.filesystem(of: image)
                results[method + file] = try await Command.run(
                    "/bin/sh", ["-c", "cd \"$0\" && find . -printf '%p %y %m %U %G %s %l\\n' | sort", root])
            }
        }
        #expect(results["overlayDockerfile"] == results["copyDockerfile"])
        #expect(results["overlayDockerfile.more"] == results["copyDockerfile.more"])
        #expect(results["copyDockerfile"]?.contains("./a/b/c/foo f 644") == true)
    }
}
