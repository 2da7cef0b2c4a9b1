import KilnImage
import Testing

/// Decoding hostile and malformed manifests, indexes and descriptors.
@Suite struct DocumentTests {
    static let hexA = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    static let configDescriptor =
        #"{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\#(hexA)","size":1}"#

    static func layer(_ fields: String) -> String {
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\#(configDescriptor),"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",\#(fields)}]}"#
    }

    struct RejectCase: Sendable, CustomTestStringConvertible {
        var name: String
        var document: String
        var declared: MediaType?
        var message: String
        var testDescription: String { name }
    }

    static let rejectCases: [RejectCase] = [
        RejectCase(
            name: "manifests and layers",
            document: #"{"schemaVersion":2,"manifests":[],"layers":[]}"#,
            message: "ambiguous document: it has both \"manifests\" and \"layers\""),
        RejectCase(
            name: "manifests and config",
            document: #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"config":\#(configDescriptor)}"#,
            message: "ambiguous document: it has both \"manifests\" and \"config\""),
        RejectCase(
            name: "content type disagrees with mediaType",
            document: #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
            declared: .ociManifest,
            message:
                "media type mismatch: declared \"application/vnd.oci.image.manifest.v1+json\" but the document says \"application/vnd.oci.image.index.v1+json\""
        ),
        RejectCase(
            name: "declared manifest, index structure",
            document: #"{"schemaVersion":2,"manifests":[]}"#,
            declared: .dockerManifest,
            message:
                "media type mismatch: declared \"application/vnd.docker.distribution.manifest.v2+json\" but the document says \"an index\""
        ),
        RejectCase(
            name: "schema 1",
            document: #"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#,
            message:
                "unsupported document \"application/vnd.docker.distribution.manifest.v1+json\": Docker image manifest schema 1 is deprecated and kiln does not support it; push the image again with a current Docker, or convert it with `skopeo copy --format v2s2`"
        ),
        RejectCase(
            name: "neither shape",
            document: #"{"schemaVersion":2}"#,
            message: "invalid document: neither a manifest (no \"config\") nor an index (no \"manifests\")"),
        RejectCase(
            name: "size -1",
            document: layer(#""digest":"sha256:\#(hexA)","size":-1"#),
            message: "invalid field layers[0].size: -1 is negative"),
        RejectCase(
            name: "size 2^63-1",
            document: layer(#""digest":"sha256:\#(hexA)","size":9223372036854775807"#),
            message:
                "invalid field layers[0].size: 9223372036854775807 is larger than the maximum of 4398046511104 bytes"),
        RejectCase(
            name: "size beyond Int64",
            document: layer(#""digest":"sha256:\#(hexA)","size":92233720368547758070"#),
            message: "invalid field layers[0].size: 92233720368547758070 is not a 64-bit integer"),
        RejectCase(
            name: "fractional size",
            document: layer(#""digest":"sha256:\#(hexA)","size":1.5"#),
            message: "invalid field layers[0].size: 1.5 is not a 64-bit integer"),
        RejectCase(
            name: "upper-case hex",
            document: layer(#""digest":"sha256:\#(hexA.uppercased())","size":1"#),
            message:
                "invalid field layers[0].digest: invalid digest \"sha256:\(hexA.uppercased())\": hex digits must be lower-case"
        ),
        RejectCase(
            name: "unknown algorithm",
            document: layer(#""digest":"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564","size":1"#),
            message:
                "invalid field layers[0].digest: invalid digest \"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564\": unsupported algorithm \"sha256+b64u\" (kiln accepts sha256, sha384 and sha512)"
        ),
        RejectCase(
            name: "data does not match digest",
            document: layer(#""digest":"sha256:\#(hexA)","size":1,"data":"Yg==""#),
            message: "invalid field layers[0].data: does not match digest sha256:\(hexA)"),
        RejectCase(
            name: "data does not match size",
            document: layer(#""digest":"sha256:\#(hexA)","size":2,"data":"YQ==""#),
            message: "invalid field layers[0].data: decodes to 1 bytes but size is 2"),
        RejectCase(
            name: "data not base64",
            document: layer(#""digest":"sha256:\#(hexA)","size":1,"data":"!!""#),
            message: "invalid field layers[0].data: not valid base64"),
        RejectCase(
            name: "missing digest",
            document: layer(#""size":1"#),
            message: "invalid field layers[0].digest: missing"),
        RejectCase(
            name: "size as string",
            document: layer(#""digest":"sha256:\#(hexA)","size":"1""#),
            message: "invalid field layers[0].size: expected a number, got a string"),
        RejectCase(
            name: "index entry with bad digest",
            document: #"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1","size":1}]}"#,
            message: "invalid field manifests[0].digest: invalid digest \"sha256:1\": sha256 needs 64 hex digits, got 1"),
        RejectCase(
            name: "annotation value not a string",
            document: #"{"schemaVersion":2,"manifests":[],"annotations":{"a.b":1}}"#,
            message: "invalid field annotations[\"a.b\"]: expected a string, got a number"),
        RejectCase(
            name: "unknown document media type",
            document: #"{"schemaVersion":2,"mediaType":"application/x-thing","config":\#(configDescriptor)}"#,
            message: "unsupported document \"application/x-thing\": not an image manifest or index media type"),
        RejectCase(
            name: "schema version 3",
            document: #"{"schemaVersion":3,"manifests":[]}"#,
            message: "invalid field schemaVersion: 3 is not supported (expected 2)"),
        RejectCase(
            name: "duplicate mediaType",
            document: #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#,
            message: "invalid JSON at byte 88: duplicate key \"mediaType\""),
    ]

    @Test(arguments: rejectCases)
    func rejects(_ testCase: RejectCase) {
        #expect {
            try ImageDocument.decode(Array(testCase.document.utf8), declaredMediaType: testCase.declared)
        } throws: { error in
            (error as? ImageError)?.diagnostic.message == testCase.message
        }
    }

    @Test func noMediaTypeDecidedByStructure() throws {
        let index = try ImageDocument.decode(Array(#"{"schemaVersion":2,"manifests":[]}"#.utf8))
        guard case .index = index else {
            Issue.record("expected an index, got \(index)")
            return
        }
        let manifest = try ImageDocument.decode(
            Array(#"{"schemaVersion":2,"config":\#(Self.configDescriptor),"layers":[]}"#.utf8))
        guard case .manifest = manifest else {
            Issue.record("expected a manifest, got \(manifest)")
            return
        }
    }

    @Test func dockerManifestListDecodes() throws {
        let document = #"""
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
             "manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":7,
               "digest":"sha256:\#(Self.hexA)","platform":{"architecture":"arm","os":"linux","variant":"v7"}}]}
            """#
        let decoded = try ImageDocument.decode(Array(document.utf8), declaredMediaType: .dockerManifestList)
        guard case .index(let index) = decoded else {
            Issue.record("expected an index")
            return
        }
        #expect(index.manifests[0].platform?.variant == "v7")
        #expect(index.manifest(for: try Platform(parsing: "linux/arm/v7"))?.size == 7)
    }

    @Test func sha512DescriptorAccepted() throws {
        let hex =
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        let manifest = try Manifest.decode(Array(Self.layer(#""digest":"sha512:\#(hex)","size":3,"data":"YWJj""#).utf8))
        #expect(manifest.layers[0].digest.algorithm == .sha512)
        #expect(manifest.layers[0].data == Array("abc".utf8))
    }

    @Test func artifactDecodesButIsNotRunnable() throws {
        let document = #"""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "artifactType":"application/vnd.example.sbom",
             "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},
             "layers":[{"mediaType":"application/spdx+json","digest":"sha256:\#(Self.hexA)","size":1}]}
            """#
        let manifest = try Manifest.decode(Array(document.utf8))
        #expect(!manifest.isRunnable)
        #expect(
            manifest.notRunnableReason
                == "config media type \"application/vnd.oci.empty.v1+json\" is not an image config (an artifact?)")

        var unknownLayer = manifest
        unknownLayer.config.mediaType = .ociConfig
        #expect(
            unknownLayer.notRunnableReason
                == "layer 0 has media type \"application/spdx+json\", which kiln cannot unpack")
    }

    @Test func errorInDocumentNamesIt() {
        let error = ImageError.inDocument(
            "manifest sha256:\(Self.hexA)", .invalidField(path: "layers[0].size", reason: "-1 is negative"))
        #expect(error.diagnostic.message == "manifest sha256:\(Self.hexA): invalid field layers[0].size: -1 is negative")
        #expect(error.underlying == .invalidField(path: "layers[0].size", reason: "-1 is negative"))
    }
}
