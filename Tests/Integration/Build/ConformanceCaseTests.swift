import Foundation
import Testing

/// The Dockerfile conformance cases, each built by kiln and checked against the values its
/// `expected.md` records for Docker and buildah.
@Suite(.enabled(if: BuildHarness.isReady, "build tests need root, runc and busybox-static"))
struct ConformanceCaseTests {
    static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    @Test func commentInContinuation() async throws {
        let fixture = try CaseFixture("01-comment-in-continuation")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let root = try fixture.filesystem(of: image)
        #expect(Inspect.text(root + "/out") == "abc")
        let config = try BuildHarness.config(of: image)
        #expect(config.config?.labels?["joined"] == "x y")
        let run = config.history?.first { $0.createdBy?.hasPrefix("RUN") == true }
        #expect(
            run?.createdBy
                == "RUN /bin/sh -c printf 'a' > /out     && printf 'b' >> /out     && printf 'c' >> /out # buildkit")
    }

    @Test func emptyContinuationLine() async throws {
        let fixture = try CaseFixture("02-empty-continuation-line")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let root = try fixture.filesystem(of: image)
        #expect(Inspect.text(root + "/out") == "first RUN echo second\n")
        #expect(Inspect.text(root + "/third") == "third\n")
        let runs = try BuildHarness.config(of: image).history?.filter { $0.createdBy?.hasPrefix("RUN") == true } ?? []
        #expect(runs.count == 2)
        #expect(runs.first?.createdBy == "RUN /bin/sh -c echo first RUN echo second > /out # buildkit")
    }

    @Test func backslashInsideTrailingComment() async throws {
        let fixture = try CaseFixture("03-backslash-inside-trailing-comment")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let root = try fixture.filesystem(of: image)
        #expect(Inspect.text(root + "/a") == "one\n")
        #expect(!Inspect.exists(root + "/b"))
        let listing = Set((Inspect.text(root + "/listing") ?? "").split(separator: "\n").map(String.init))
        #expect(listing.isSuperset(of: ["a", "bin", "dev", "etc", "listing", "proc", "root", "sys", "tmp"]))
        #expect(!listing.contains("b"))
        let runs = try BuildHarness.config(of: image).history?.filter { $0.createdBy?.hasPrefix("RUN") == true } ?? []
        #expect(
            runs.first?.createdBy
                == "RUN /bin/sh -c echo one > /a # trailing remark that ends with a backslash RUN echo two > /b # buildkit")
    }

    @Test func execFormInvalidJSON() async throws {
        let fixture = try CaseFixture("05-exec-form-invalid-json")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let root = try fixture.filesystem(of: image)
        #expect(Inspect.text(root + "/fallback") == "shell form ran\n")
        let config = try BuildHarness.config(of: image).config
        #expect(config?.cmd == ["/bin/sh", "-c", "[\"echo\", \"trailing\", \"comma\",]"])
        #expect(config?.entrypoint == ["/bin/sh", "-c", "['/bin/echo', 'single']"])
    }

    @Test func malformedJSONInVolumeAndShell() async throws {
        let fixture = try CaseFixture("06-json-malformed-volume-shell")
        defer { fixture.remove() }
        let (volume, volumeImage) = try await fixture.build()
        try #require(volume.status == 0, "\(volume.stderr)")
        let config = try BuildHarness.config(of: volumeImage).config
        #expect(config?.volumes == ["/data", "["])
        #expect(config?.exposedPorts == ["8080/tcp"])
        #expect(config?.labels?["after"] == "volume")

        let (shell, shellImage) = try await fixture.build("-f", "Dockerfile.shell-extra-bracket")
        try #require(shell.status == 0, "\(shell.stderr)")
        #expect(try BuildHarness.config(of: shellImage).config?.shell == ["/bin/sh", "-c"])
        #expect(Inspect.text(try fixture.filesystem(of: shellImage) + "/ran") == "ran\n")

        let (nested, _) = try await fixture.build("-f", "Dockerfile.nested-array")
        #expect(nested.status == 1)
        #expect(nested.stderr.contains("Dockerfile.nested-array:2"), "\(nested.stderr)")
        #expect(nested.stderr.contains("strings"), "\(nested.stderr)")
    }

    @Test func envSameLineOrdering() async throws {
        let fixture = try CaseFixture("08-env-same-line-ordering")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let config = try BuildHarness.config(of: image)
        #expect(config.config?.env == [Self.defaultPath, "A=inner", "B=outer", "C=outer-x", "D=inner"])
        #expect(Inspect.text(try fixture.filesystem(of: image) + "/seen") == "inner outer outer-x inner\n")
        #expect(config.history?.contains { $0.createdBy == "ENV A=inner B=outer C=outer-x" } == true)
    }

    @Test func argumentsBeforeFrom() async throws {
        let fixture = try CaseFixture("09-arg-before-from-scope")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let root = try fixture.filesystem(of: image)
        #expect(Inspect.text(root + "/before") == "tag=[] global=[]\n")
        #expect(Inspect.text(root + "/after") == "tag=[1] global=[from-global]\n")
        let config = try BuildHarness.config(of: image)
        #expect(config.config?.labels == ["tag": "1", "global": "from-global"])
        #expect(config.config?.env == [Self.defaultPath])
        let runs = config.history?.filter { $0.createdBy?.hasPrefix("RUN") == true } ?? []
        #expect(runs.last?.createdBy == "RUN |2 TAG=1 GLOBAL=from-global /bin/sh -c echo \"tag=[$TAG] global=[$GLOBAL]\" > /after # buildkit")

        let (overridden, overriddenImage) = try await fixture.build("--build-arg", "GLOBAL=cli")
        try #require(overridden.status == 0, "\(overridden.stderr)")
        let overriddenRoot = try fixture.filesystem(of: overriddenImage)
        #expect(Inspect.text(overriddenRoot + "/before") == "tag=[] global=[]\n")
        #expect(Inspect.text(overriddenRoot + "/after") == "tag=[1] global=[cli]\n")
        #expect(try BuildHarness.config(of: overriddenImage).config?.labels?["global"] == "cli")
    }

    @Test func substitutionModifiers() async throws {
        let fixture = try CaseFixture("11-substitution-modifiers")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let labels = try BuildHarness.config(of: image).config?.labels ?? [:]
        let expected = [
            "a": "value", "b": "dflt", "c": "dflt", "d": "alt", "e": "", "f": "", "g": "xy", "h": "nd", "i": "value",
            "j": "value",
        ]
        #expect(labels == expected)

        // kiln follows the current Dockerfile reference, which accepts the forms without a colon.
        let (noColon, noColonImage) = try await fixture.build("-f", "Dockerfile.no-colon")
        try #require(noColon.status == 0, "\(noColon.stderr)")
        #expect(try BuildHarness.config(of: noColonImage).config?.labels == ["k": "", "l": "dflt", "m": "alt", "n": ""])
    }

    @Test func ignoreWildcardExceptions() async throws {
        let fixture = try CaseFixture("13-dockerignore-wildcard-exceptions")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        #expect(
            Inspect.text(try fixture.filesystem(of: image) + "/listing")
                == ".\n./hi.txt\n./photos\n./photos/steak.jpeg\n./top.py\n")
    }

    @Test func ignoreDockerfileAndPathForms() async throws {
        let fixture = try CaseFixture("15-dockerignore-dockerfile-and-path-forms")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        #expect(
            Inspect.text(try fixture.filesystem(of: image) + "/listing")
                == ".\n./keep\n./keep/k.txt\n./sub\n./sub/other.txt\n./sub/secret.txt\n")
    }

    @Test func copyWildcardsDirectoriesAndSlashes() async throws {
        let fixture = try CaseFixture("16-copy-wildcard-dirs-and-dest-slash")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let root = try fixture.filesystem(of: image)
        for path in [
            "/w1/a.txt", "/w1/b.txt", "/w1/apt.conf.d/some_file", "/w2/a.txt", "/w2/b.txt", "/w2/apt/apt.conf.d/some_file",
            "/w4/a.txt", "/w5/a.txt", "/w5/b.txt", "/w6/a.txt", "/w6/b.txt", "/wd/rel", "/wd/a.txt",
        ] {
            #expect(Inspect.isRegularFile(root + path), "\(path)")
            let mode = Inspect.mode(root + path)
            #expect(mode?.permissions == 0o644, "\(path)")
            #expect(mode?.uid == 0, "\(path)")
            #expect(mode?.gid == 0, "\(path)")
        }
        #expect(!Inspect.exists(root + "/w1/apt"))
        #expect(!Inspect.exists(root + "/w2/conf"))
        #expect(Inspect.isRegularFile(root + "/w3"))
        #expect(Inspect.text(root + "/w3") == "a\n")
        #expect(try BuildHarness.config(of: image).config?.workingDir == "/wd")

        let (multiple, _) = try await fixture.build("-f", "Dockerfile.multi-src-no-slash")
        #expect(multiple.status == 1)
        #expect(multiple.stderr.contains("Dockerfile.multi-src-no-slash:2"), "\(multiple.stderr)")
        #expect(multiple.stderr.contains("the destination must be a directory and end with a /"), "\(multiple.stderr)")

        let (noMatch, _) = try await fixture.build("-f", "Dockerfile.no-match")
        #expect(noMatch.status == 1)
        #expect(noMatch.stderr.contains("Dockerfile.no-match:2"), "\(noMatch.stderr)")
        #expect(noMatch.stderr.contains("no source files were specified"), "\(noMatch.stderr)")
    }

    @Test func copySymbolicLinks() async throws {
        let fixture = try CaseFixture("17-copy-symlinks")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let root = try fixture.filesystem(of: image)
        #expect(Inspect.linkTarget(root + "/xyz/abs-link") == "/etc/passwd")
        #expect(Inspect.linkTarget(root + "/xyz/dangling") == "missing-target")
        #expect(Inspect.linkTarget(root + "/xyz/foo.txt") == "../A/bar.txt")
        #expect(Inspect.text(root + "/A/bar.txt") == "bar-content\n")
        #expect(Inspect.mode(root + "/A/bar.txt")?.permissions == 0o644)
        #expect(Inspect.isRegularFile(root + "/single.txt"))
        #expect(Inspect.text(root + "/single.txt") == "bar-content\n")

        for variant in ["Dockerfile.abs-link", "Dockerfile.dangling"] {
            let (failed, _) = try await fixture.build("-f", variant)
            #expect(failed.status == 1, "\(variant)")
            #expect(failed.stderr.contains("\(variant):2"), "\(failed.stderr)")
            #expect(failed.stderr.contains("not found in build context"), "\(failed.stderr)")
        }
    }

    @Test func addLocalAndRemoteArchives() async throws {
        let fixture = try CaseFixture("19-add-local-vs-remote-archives")
        defer { fixture.remove() }
        let server = try HTTPFileServer(directory: fixture.context.appending("remote"))
        defer { server.stop() }
        let served = fixture.context.appending("remote/payload.tar.gz")
        let (result, image) = try await fixture.build("--build-arg", "BASE_URL=http://127.0.0.1:\(server.port)")
        try #require(result.status == 0, "\(result.stderr)")
        let root = try fixture.filesystem(of: image)

        #expect(Inspect.mode(root + "/local")?.uid == 0)
        let localDirectory = Inspect.mode(root + "/local/pkg")
        #expect(localDirectory?.permissions == 0o755)
        #expect(localDirectory?.uid == 123)
        #expect(localDirectory?.gid == 456)
        let localFile = Inspect.mode(root + "/local/pkg/file.txt")
        #expect(localFile?.permissions == 0o600)
        #expect(localFile?.uid == 123)
        #expect(localFile?.gid == 456)
        #expect(Inspect.text(root + "/local/pkg/file.txt") == "inside\n")
        #expect(Inspect.modificationTime(root + "/local/pkg/file.txt") == 1_577_836_800)

        let remote = root + "/remote/payload.tar.gz"
        #expect(Inspect.isRegularFile(remote))
        #expect(Inspect.mode(remote)?.permissions == 0o600)
        #expect(Inspect.mode(remote)?.uid == 0)
        let servedSize = (try FileManager.default.attributesOfItem(atPath: served)[.size] as? Int) ?? -1
        #expect((try FileManager.default.attributesOfItem(atPath: remote)[.size] as? Int) == servedSize)
        #expect(Inspect.modificationTime(remote) == Inspect.modificationTime(served))
        #expect(Inspect.isRegularFile(root + "/remote-named"))
        #expect(Inspect.mode(root + "/remote-named")?.permissions == 0o600)

        #expect(Inspect.isRegularFile(root + "/gz/plain.txt.gz"))
        #expect(Inspect.mode(root + "/gz/plain.txt.gz")?.permissions == 0o644)
        #expect(Inspect.isDirectory(root + "/named.tar"))
        let named = Inspect.mode(root + "/named.tar/pkg/file.txt")
        #expect(named?.permissions == 0o600)
        #expect(named?.uid == 123)
        #expect(named?.gid == 456)
        #expect(Inspect.isRegularFile(root + "/copied/payload.tar.gz"))
        #expect(Inspect.mode(root + "/copied/payload.tar.gz")?.permissions == 0o644)
        #expect(server.requestCount == 2)
    }

    @Test func defaultPathAndScratchConfig() async throws {
        let fixture = try CaseFixture("21-default-path-and-scratch-config", makeContext: false)
        defer { fixture.remove() }
        let (scratch, scratchImage) = try await fixture.build()
        try #require(scratch.status == 0, "\(scratch.stderr)")
        let scratchConfig = try BuildHarness.config(of: scratchImage)
        #expect(scratchConfig.config?.env == [Self.defaultPath])
        #expect(scratchConfig.config?.workingDir == "/")
        #expect(scratchConfig.rootfs.diffIDs.isEmpty)

        let (env, envImage) = try await fixture.build("-f", "Dockerfile.env")
        try #require(env.status == 0, "\(env.stderr)")
        #expect(try BuildHarness.config(of: envImage).config?.env == [Self.defaultPath, "FOO=bar"])

        let (chain, chainImage) = try await fixture.build("-f", "Dockerfile.chain")
        try #require(chain.status == 0, "\(chain.stderr)")
        let chainConfig = try BuildHarness.config(of: chainImage)
        #expect(chainConfig.config?.env == [Self.defaultPath])
        #expect(chainConfig.config?.labels == ["stage": "second"])

        try BuildHarness.importImage("kiln-case/nopath-base:1", files: ["marker": "x\n"], environment: ["FOO=1"])
        let (noPath, noPathImage) = try await fixture.build("-f", "Dockerfile.nopath-base")
        try #require(noPath.status == 0, "\(noPath.stderr)")
        let noPathConfig = try BuildHarness.config(of: noPathImage)
        #expect(noPathConfig.config?.env == ["FOO=1", Self.defaultPath])
        #expect((noPathConfig.config?.workingDir ?? "") == "")
    }

    @Test func entrypointAndCmdInterplay() async throws {
        let fixture = try CaseFixture("22-entrypoint-cmd-interplay")
        defer { fixture.remove() }
        let expectations: [(String, [String]?, [String]?)] = [
            ("inherit-entrypoint", nil, ["/bin/echo", "entry:"]),
            ("same-stage", ["from-same-stage"], ["/bin/echo", "entry:"]),
            ("shell-entrypoint", ["ignored-arg"], ["/bin/sh", "-c", "echo shell-entry got \"$@\""]),
            ("cmd-only-child", ["/bin/sh", "-c", "echo shell-form-cmd"], nil),
        ]
        for (target, cmd, entrypoint) in expectations {
            let (result, image) = try await fixture.build("--target", target)
            try #require(result.status == 0, "\(target): \(result.stderr)")
            let config = try BuildHarness.config(of: image).config
            #expect(config?.cmd == cmd, "\(target)")
            #expect(config?.entrypoint == entrypoint, "\(target)")
        }
    }

    @Test func whiteoutsAndOpaqueDirectories() async throws {
        let fixture = try CaseFixture("24-whiteout-and-opaque-dir")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let root = try fixture.filesystem(of: image)
        #expect(Inspect.text(root + "/a/keep") == "k\n")
        #expect(Inspect.text(root + "/a/b/c/foo") == "2\n")
        for gone in ["/a/b/c/bar", "/a/b/other", "/gone", "/gonedir", "/bin/cat"] {
            #expect(!Inspect.exists(root + gone), "\(gone)")
        }

        let layers = try Inspect.layerFiles(of: image)
        try #require(layers.count == 4)
        let second = try Inspect.layerListing(layers[2])
        #expect(second.contains("f 0000 .wh.gone"))
        #expect(second.contains("f 0000 .wh.gonedir"))
        #expect(!second.contains { $0.hasSuffix(" gonedir/f") })
        #expect(!second.contains { $0.hasSuffix(" a/keep") })
        // Either encoding of the recreated a/b is valid: an opaque marker, or a whiteout per child.
        let opaque = second.contains("f 0000 a/b/.wh..wh..opq")
        let explicit = second.contains("f 0000 a/b/c/.wh.bar") && second.contains("f 0000 a/b/.wh.other")
        #expect(opaque || explicit, "\(second)")
        #expect(second.contains("f 0644 a/b/c/foo"))
        let third = try Inspect.layerListing(layers[3])
        #expect(third == ["d 0755 bin", "f 0000 bin/.wh.cat"])
    }

    @Test func longNamesInLayers() async throws {
        let fixture = try CaseFixture("26-long-names-in-layers")
        defer { fixture.remove() }
        let (result, image) = try await fixture.build()
        try #require(result.status == 0, "\(result.stderr)")
        let layer = try #require(try Inspect.layerFiles(of: image).last)
        let script = """
            import sys, tarfile, gzip
            raw = gzip.open(sys.argv[1]).read()
            print('gnu-longlink' if b'././@LongLink' in raw else 'no-gnu')
            with tarfile.open(sys.argv[1]) as t:
                for m in t.getmembers():
                    keys = ','.join(sorted(k for k in m.pax_headers if k in ('path', 'linkpath')))
                    print(m.name, keys or '-')
            """
        let lines = try await Command.run("python3", ["-c", script, layer]).split(separator: "\n").map(String.init)
        #expect(lines.first == "no-gnu")
        let directory = "long/" + String(repeating: "d", count: 120)
        let file = directory + "/" + String(repeating: "f", count: 150)
        let split = "long/" + String(repeating: "p", count: 60) + "/" + String(repeating: "q", count: 60)
        #expect(lines.contains("\(directory) path"))
        #expect(lines.contains("\(file) path"))
        #expect(lines.contains("long/link-with-long-target linkpath"))
        #expect(lines.contains("long/unicode-é-ü-名前 path"))
        #expect(lines.contains("\(split) -"))
        #expect(lines.contains("\(split)/short -"))
        let root = try fixture.filesystem(of: image)
        #expect(Inspect.linkTarget(root + "/long/link-with-long-target") == "/" + file)
        #expect(Inspect.text(root + "/long/unicode-é-ü-名前") == "u\n")
    }

    @Test func unusedStageIsSkipped() async throws {
        let fixture = try CaseFixture("27-unused-stage-is-built")
        defer { fixture.remove() }
        for arguments in [[], ["--target", "good"]] {
            let image = BuildHarness.uniqueName("27")
            let kiln = try BuildHarness.kiln(in: fixture.context.path)
            let result = await kiln.run(["build", "--progress=plain", "-t", image] + arguments + ["."])
            try #require(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.contains("unused stage ran"))
            #expect(Inspect.text(try fixture.filesystem(of: image) + "/ok") == "ok\n")
            #expect(try Inspect.layerFiles(of: image).count == 2)
        }
    }
}
