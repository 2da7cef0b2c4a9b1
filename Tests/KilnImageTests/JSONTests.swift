import KilnImage
import Testing

@Suite struct JSONTests {
    @Test(arguments: [
        (#"{ "b": 1, "a": [true, false, null], "c": {"z": "x", "y": 1.50} }"#, #"{"a":[true,false,null],"b":1,"c":{"y":1.50,"z":"x"}}"#),
        (#"  "text\u00e9\n\"/"  "#, "\"text\u{e9}\\n\\\"/\""),
        (#"[1e3, -0, 18446744073709551616, 0.5E-2]"#, "[1e3,-0,18446744073709551616,0.5E-2]"),
        (#"{"\u0001":"\u001f", "é": 1, "Z": 2, "a": 3}"#, "{\"\\u0001\":\"\\u001f\",\"Z\":2,\"a\":3,\"\u{e9}\":1}"),
        (#""\ud83d\ude00""#, "\"\u{1F600}\""),
    ])
    func canonicalForm(input: String, canonical: String) throws {
        let value = try JSONValue.parse(Array(input.utf8))
        #expect(value.canonicalString() == canonical)
        #expect(try JSONValue.parse(value.canonicalBytes()) == value)
    }

    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "invalid JSON at byte 7: duplicate key \"a\""),
        (#"{"a":1,}"#, "invalid JSON at byte 7: expected a string as object key"),
        (#"[1 2]"#, "invalid JSON at byte 3: expected ',' or ']' in array"),
        (#"01"#, "invalid JSON at byte 1: unexpected data after the end of the document"),
        (#""\ud800""#, "invalid JSON at byte 7: lone surrogate in \\u escape"),
        (#"{"a":tru}"#, "invalid JSON at byte 8: unexpected character '}'"),
        ("\"a\tb\"", "invalid JSON at byte 2: control character 0x9 inside a string"),
        ("", "invalid JSON at byte 0: unexpected end of the document"),
        (#"{"a":"#, "invalid JSON at byte 5: unexpected end of the document"),
    ])
    func rejectsMalformed(input: String, message: String) {
        #expect {
            try JSONValue.parse(Array(input.utf8))
        } throws: { error in
            (error as? ImageError)?.diagnostic.message == message
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: ImageError.invalidJSON(offset: 1, reason: "string is not valid UTF-8")) {
            try JSONValue.parse([UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\"")])
        }
    }

    @Test func capsNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: ImageError.invalidJSON(offset: 256, reason: "nesting deeper than 256 levels")) {
            try JSONValue.parse(Array(deep.utf8))
        }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: Never.self) { try JSONValue.parse(Array(fine.utf8)) }
    }
}

@Suite struct RoundTripTests {
    static let dockerConfig = #"""
        {
          "architecture": "amd64",
          "config": {
            "Hostname": "",
            "AttachStdin": false,
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
            "Cmd": ["python3"],
            "Entrypoint": null,
            "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
            "Volumes": {"/data": {}},
            "WorkingDir": "/app",
            "Labels": {"org.opencontainers.image.source": "https://example.com/repo"},
            "StopSignal": "SIGTERM",
            "User": "1000:1000",
            "Healthcheck": {"Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "Interval": 30000000000, "Retries": 3},
            "Shell": ["/bin/bash", "-c"],
            "OnBuild": ["RUN echo child"],
            "ArgsEscaped": true
          },
          "container": "3f1c8d",
          "created": "2024-03-01T10:00:00.123456789Z",
          "docker_version": "24.0.5",
          "history": [
            {"created": "2024-03-01T09:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
            {"created": "2024-03-01T10:00:00Z", "created_by": "/bin/sh -c #(nop)  CMD [\"python3\"]", "empty_layer": true, "x-kiln-test": 7}
          ],
          "os": "linux",
          "rootfs": {
            "type": "layers",
            "diff_ids": ["sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"]
          },
          "variant": "v1"
        }
        """#

    @Test func imageConfigKeepsUnknownMembers() throws {
        let config = try ImageConfig.decode(Array(Self.dockerConfig.utf8))
        #expect(config.architecture == "amd64")
        #expect(config.config?.cmd == ["python3"])
        #expect(config.config?.entrypoint == nil)
        #expect(config.config?.exposedPorts == ["53/udp", "8080/tcp"])
        #expect(config.config?.volumes == ["/data"])
        #expect(config.config?.healthcheck?.interval == 30_000_000_000)
        #expect(config.config?.healthcheck?.retries == 3)
        #expect(config.config?.argsEscaped == true)
        #expect(config.config?.onBuild == ["RUN echo child"])
        #expect(config.history?[1].isEmptyLayer == true)
        #expect(config.rootfs.diffIDs.count == 1)
        #expect(config.extra["docker_version"] == "24.0.5")
        #expect(config.config?.extra["Hostname"] == "")
        #expect(config.history?[1].extra["x-kiln-test"] == 7)

        let rewritten = try ImageConfig.decode(config.canonicalJSON())
        #expect(rewritten == config)
        let original = try JSONValue.parse(Array(Self.dockerConfig.utf8))
        var expected = original.objectValue ?? [:]
        // Null members read as absent, so they are the one thing a rewrite drops.
        if case .object(var inner) = expected["config"] {
            inner["Entrypoint"] = nil
            expected["config"] = .object(inner)
        }
        #expect(JSONValue.object(expected) == (try JSONValue.parse(config.canonicalJSON())))
    }

    @Test func manifestKeepsUnknownMembers() throws {
        let text = #"""
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                        "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2,
                        "data": "e30=", "x-extra": [1]},
             "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                         "digest": "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb", "size": 1,
                         "annotations": {"a": "b"}, "urls": ["https://example.com/l"]}],
             "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
             "x-vendor": {"nested": true}}
            """#
        let manifest = try Manifest.decode(Array(text.utf8))
        #expect(manifest.config.data == Array("{}".utf8))
        #expect(manifest.config.extra["x-extra"] == [1])
        #expect(manifest.layers[0].urls == ["https://example.com/l"])
        #expect(manifest.extra["x-vendor"] == ["nested": true])
        #expect(manifest.isRunnable)
        #expect(try JSONValue.parse(manifest.canonicalJSON()) == (try JSONValue.parse(Array(text.utf8))))
    }

    @Test func createdDocumentsAreCanonical() throws {
        let layer = Descriptor(mediaType: .ociLayerGzip, bytes: Array("layer".utf8))
        let configBytes = ImageConfig(platform: Platform(os: "linux", architecture: "amd64")).canonicalJSON()
        let manifest = Manifest(config: Descriptor(mediaType: .ociConfig, bytes: configBytes), layers: [layer])
        let bytes = manifest.canonicalJSON()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains(" "))
        #expect(!text.contains("\n"))
        #expect(text.hasPrefix(#"{"config":{"digest":"sha256:"#))
        #expect(text.hasSuffix(#""mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}"#))
        #expect(manifest.canonicalJSON() == bytes)
        #expect(
            String(decoding: configBytes, as: UTF8.self)
                == #"{"architecture":"amd64","config":{},"os":"linux","rootfs":{"diff_ids":[],"type":"layers"}}"#)
    }
}
