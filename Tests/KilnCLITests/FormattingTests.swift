import KilnDiagnostics
import KilnImage
import Testing

@testable import KilnCLI

@Suite struct FormattingTests {
    @Test func tabWriterPadsColumnsLikeDocker() {
        let table = TabWriter().format("REPOSITORY\tTAG\tSIZE\nbusybox\tlatest\t4.26MB\na-much-longer-name\t1\t0B\n")
        #expect(
            table == """
                REPOSITORY           TAG       SIZE
                busybox              latest    4.26MB
                a-much-longer-name   1         0B

                """)
    }

    @Test func tabWriterLeavesLastCellUnpadded() {
        #expect(TabWriter().format("A\tB\t\nxx\tyy\t\n") == "A         B         \nxx        yy        \n")
    }

    @Test func tabWriterColumnsSpanOnlyLinesWithTheCell() {
        #expect(TabWriter().format("a\tb\nlonger line\n") == "a         b\nlonger line\n")
    }

    private let row: OutputJSON = .map([
        "Repository": .string("busybox"), "Tag": .string("latest"),
        "Labels": .map(["b": .string("2"), "a": .string("1")]),
        "Env": .strings(["A=1", "B=2"]), "Empty": .string(""),
    ])

    @Test func templateComparisonsAndLogic() throws {
        #expect(try GoTemplate("{{if eq .Tag \"latest\"}}yes{{else}}no{{end}}").render(row) == "yes")
        #expect(try GoTemplate("{{if eq .Tag \"1.0\" \"latest\"}}yes{{end}}").render(row) == "yes")
        #expect(try GoTemplate("{{if ne .Repository \"busybox\"}}other{{else}}same{{end}}").render(row) == "same")
        #expect(try GoTemplate("{{not .Empty}} {{not .Tag}}").render(row) == "true false")
        #expect(try GoTemplate("{{and .Tag .Empty}}|{{or .Empty .Tag}}").render(row) == "|latest")
        #expect(try GoTemplate("{{lt 1 2}} {{ge \"b\" \"a\"}} {{gt (len .Env) 5}}").render(row) == "true true false")
        #expect(throws: GeneralError.self) { try GoTemplate("{{eq .Tag 1}}").render(row) }
    }

    @Test func templateFieldsAndFunctions() throws {
        #expect(try GoTemplate("{{.Repository}}:{{.Tag}}").render(row) == "busybox:latest")
        #expect(try GoTemplate("{{ .Repository | upper }}").render(row) == "BUSYBOX")
        #expect(try GoTemplate("{{json .Env}}").render(row) == "[\"A=1\",\"B=2\"]")
        #expect(try GoTemplate("{{join .Env \",\"}}").render(row) == "A=1,B=2")
        #expect(try GoTemplate("{{.Env}} {{.Labels}}").render(row) == "[A=1 B=2] map[a:1 b:2]")
        #expect(try GoTemplate("{{truncate .Repository 4}}").render(row) == "busy")
        #expect(try GoTemplate("{{if .Empty}}yes{{else}}no{{end}}").render(row) == "no")
        #expect(try GoTemplate("{{if .Tag}}{{.Tag}}{{end}}!").render(row) == "latest!")
        #expect(try GoTemplate("{{json .}}").render(.map(["a": .string("<&>")])) == "{\"a\":\"\\u003c\\u0026\\u003e\"}")
        #expect(try GoTemplate("{{index .Labels \"b\"}}").render(row) == "2")
        #expect(try GoTemplate("{{index .Env 1}}").render(row) == "B=2")
        #expect(try GoTemplate("{{index .Labels \"zz\"}}").render(row) == "<no value>")
    }

    static let loopRow: OutputJSON = .map([
        "Tag": .string("latest"), "Env": .strings(["A=1", "", "B=2"]),
        "Labels": .map(["b": .string("2"), "a": .string("1")]), "Nothing": .null, "None": .strings([]),
    ])

    @Test(arguments: [
        ("{{range .Env}}{{.}}{{\"\\n\"}}{{end}}", "A=1\n\nB=2\n"),
        ("{{range .Labels}}<{{.}}>{{end}}", "<1><2>"),
        ("{{range .Nothing}}x{{else}}none{{end}}", "none"),
        ("{{range .None}}x{{else}}none{{end}}", "none"),
        ("{{range .Env}}{{if .}}[{{.}}]{{else}}-{{end}}{{end}}", "[A=1]-[B=2]"),
        ("{{range .Env}}{{len .}}{{end}}", "303"),
    ])
    func templateRange(_ template: String, _ expected: String) throws {
        #expect(try GoTemplate(template).render(Self.loopRow) == expected)
    }

    @Test func templateRangeErrors() throws {
        let notIterable = #expect(throws: GeneralError.self) { try GoTemplate("{{range .Tag}}x{{end}}").render(Self.loopRow) }
        #expect(notIterable?.diagnostic.message == "template: range can't iterate over latest")
        let unclosed = #expect(throws: GeneralError.self) { try GoTemplate("{{range .Env}}x") }
        #expect(unclosed?.diagnostic.message == "template parsing error: unexpected EOF: {{range}} without {{end}}")
    }

    @Test(arguments: [
        ("{{$k := .Repository}}{{$k}}", "busybox"),
        ("{{$k := .Repository}}{{$k | upper}}:{{printf \"%s\" $k}}", "BUSYBOX:busybox"),
        ("{{$k := .Repository}}{{$k = .Tag}}{{$k}}", "latest"),
        ("{{$.Repository}}{{range .Env}}{{$.Tag}}{{end}}", "busyboxlatestlatest"),
        ("{{range $i, $e := .Env}}{{$i}}={{$e}};{{end}}", "0=A=1;1=B=2;"),
        ("{{range $k, $v := .Labels}}{{$k}}:{{$v}} {{end}}", "a:1 b:2 "),
        ("{{range $e := .Env}}{{$e}}{{.}}{{end}}", "A=1A=1B=2B=2"),
        ("{{$n := 0}}{{range .Env}}{{$n = .}}{{end}}{{$n}}", "B=2"),
        ("{{if $t := .Tag}}{{$t}}{{end}}", "latest"),
        ("{{$l := .Labels}}{{$l.b}}", "2"),
        ("{{range .Env}}{{$x := .}}{{$x}}{{end}}", "A=1B=2"),
    ])
    func templateVariables(_ template: String, _ expected: String) throws {
        #expect(try GoTemplate(template).render(row) == expected)
    }

    @Test(arguments: [
        ("{{$x}}", "template parsing error: undefined variable \"$x\""),
        ("{{$x = 1}}", "template parsing error: undefined variable \"$x\""),
        ("{{range .Env}}{{$x := .}}{{end}}{{$x}}", "template parsing error: undefined variable \"$x\""),
        ("{{if .Tag}}{{$x := 1}}{{end}}{{$x}}", "template parsing error: undefined variable \"$x\""),
        ("{{$a, $b := .Env}}", "template parsing error: too many declarations in command"),
    ])
    func templateVariableErrors(_ template: String, _ message: String) throws {
        let error = #expect(throws: GeneralError.self) { try GoTemplate(template).render(row) }
        #expect(error?.diagnostic.message == message)
    }

    @Test(arguments: [
        ("{{printf \"%s:%s\" .Repository .Tag}}", "busybox:latest"),
        ("{{printf \"%d|%5d|%-5d|%05d|%+d\" 42 42 42 42 42}}", "42|   42|42   |00042|+42"),
        ("{{printf \"%05d\" -42}}", "-0042"),
        ("{{printf \"%v %v\" .Env .Labels}}", "[A=1 B=2] map[a:1 b:2]"),
        ("{{printf \"%s\" .Env}}", "[A=1 B=2]"),
        ("{{printf \"%q\" .Repository}}", "\"busybox\""),
        ("{{printf \"%q\" \"a\\\"b\\n\"}}", "\"a\\\"b\\n\""),
        ("{{printf \"%q\" .Env}}", "[\"A=1\" \"B=2\"]"),
        ("{{printf \"%.3s|%-10s|%8s\" .Repository .Tag .Tag}}", "bus|latest    |  latest"),
        ("{{printf \"100%%\"}}", "100%"),
        ("{{printf \"%d\" .Tag}}", "%!d(string=latest)"),
        ("{{printf \"%s\" 5}}", "%!s(int=5)"),
        ("{{printf \"%s %s\" .Tag}}", "latest %!s(MISSING)"),
        ("{{printf \"%s\" .Tag 5}}", "latest%!(EXTRA int=5)"),
        ("{{printf \"%v\" .Missing}}", "<nil>"),
        ("{{.Tag | printf \"<%s>\"}}", "<latest>"),
        ("{{printf \"%-99999999999s|\" .Tag}}", "%!(NOVERB)%!(EXTRA string=latest)"),
        ("{{printf \"%.20000000s\" .Tag}}", "%!(NOVERB)%!(EXTRA string=latest)"),
        ("{{printf \"%.2000000s\" .Tag}}", "latest"),
    ])
    func templatePrintf(_ template: String, _ expected: String) throws {
        #expect(try GoTemplate(template, strictFields: false).render(row) == expected)
    }

    @Test func templateErrorsNameTheProblem() throws {
        #expect(throws: (any Error).self) { try GoTemplate("{{.Repository").render(row) }
        #expect(throws: (any Error).self) { try GoTemplate("{{nosuch .Tag}}").render(row) }
        #expect(throws: (any Error).self) { try GoTemplate("{{.Missing}}").render(row) }
        #expect(throws: (any Error).self) { try GoTemplate("{{index .Env 5}}").render(row) }
        #expect(try GoTemplate("{{.Missing}}", strictFields: false).render(row) == "<no value>")
    }

    /// Docker's inspect structs have string fields that print empty when unset; kiln's JSON may
    /// leave them out or set them to null.
    @Test func inspectStringFieldsPrintEmpty() throws {
        let image = OutputJSON.object([("Config", .object([("User", .null), ("Env", .null)]))])
        let type = DockerInspectTypes.image
        let user = try GoTemplate("[{{.Config.User}}] [{{.Config.WorkingDir}}]")
        #expect(try user.render(image, as: type) == "[] []")
        let test = try GoTemplate(#"{{if eq .Config.User ""}}root{{end}}"#)
        #expect(try test.render(image, as: type) == "root")
    }

    /// A field that Docker's struct does not have fails as the Docker CLI reports it, with the
    /// line, the column and the field chain.
    @Test(arguments: [
        ("{{.Nope}}", #"template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope""#),
        ("{{ .Nope }}", #"template: :1:3: executing "" at <.Nope>: map has no entry for key "Nope""#),
        ("x{{.Config.Nope}}", #"template: :1:10: executing "" at <.Config.Nope>: map has no entry for key "Nope""#),
        ("a\n{{json .Nope}}", #"template: :2:7: executing "" at <.Nope>: map has no entry for key "Nope""#),
        ("{{if .Nope}}y{{end}}", #"template: :1:5: executing "" at <.Nope>: map has no entry for key "Nope""#),
        (
            "{{$x := .Config}}{{$x.Nope}}",
            #"template: :1:21: executing "" at <$x.Nope>: map has no entry for key "Nope""#
        ),
        (
            "{{.Config.Healthcheck.Test}}",
            #"template: :1:9: executing "" at <.Config.Healthcheck.Test>: map has no entry for key "Healthcheck""#
        ),
        (
            "é{{.Metadata.Nope}}",
            #"template: :1:13: executing "" at <.Metadata.Nope>: map has no entry for key "Nope""#
        ),
        (
            "{{.RepoTags.Nope}}",
            #"template: :1:11: executing "" at <.RepoTags.Nope>: can't evaluate field Nope in type []string"#
        ),
    ])
    func inspectUnknownFieldFails(template: String, message: String) throws {
        let image = OutputJSON.object([
            ("Id", .string("sha256:1")), ("RepoTags", .array([.string("a:1")])), ("Config", .object([])),
            ("Metadata", .object([("LastTagTime", .string(""))])),
        ])
        let parsed = try GoTemplate(template.replacingLiteralEscapes())
        let error = #expect(throws: GeneralError.self) { try parsed.render(image, as: DockerInspectTypes.image) }
        #expect(error?.diagnostic.message == message)
    }

    @Test(arguments: [
        ("[{{index .Config.Labels \"missing\"}}]", "[]"),
        ("{{.Config.Labels.missing}}", "<no value>"),
        ("{{.Config.Labels.missing.deeper}}", "<no value>"),
        ("{{.Config.Healthcheck}}", "<nil>"),
        ("{{json .Config.Healthcheck}}", "null"),
        ("{{if .Config.Healthcheck}}set{{else}}unset{{end}}", "unset"),
        ("[{{.Variant}}] {{.Size}} {{.Config.Tty}}", "[] 0 false"),
        ("{{.ID}} {{.Id}}", "sha256:1 sha256:1"),
        ("{{.Descriptor.Digest}} {{.Descriptor.digest}}", "sha256:2 sha256:2"),
        ("{{index .Config.Labels \"a\"}} {{.Config.Labels.a}}", "1 1"),
    ])
    func inspectKnownFieldPrintsZero(template: String, expected: String) throws {
        let image = OutputJSON.object([
            ("Id", .string("sha256:1")), ("Config", .object([("Labels", .map(["a": .string("1")]))])),
            ("Descriptor", .object([("digest", .string("sha256:2"))])),
        ])
        let unlabeled = OutputJSON.object([("Id", .string("sha256:1")), ("Config", .object([]))])
        let data = template.contains("\"a\"") || template.contains("Descriptor") ? image : unlabeled
        #expect(try GoTemplate(template).render(data, as: DockerInspectTypes.image) == expected)
    }

    /// The Docker CLI formats list rows from Go structs, so an unknown field is an error before
    /// any row is read, which `docker ps` reports even without containers.
    @Test func listUnknownFieldFailsWithoutRows() throws {
        let row = GoStruct([("ID", .string), ("Names", .string)], typeName: "*formatter.ContainerContext")
        let error = #expect(throws: GeneralError.self) {
            try ListFormat("{{.ID}} {{.Nope}}", defaultTable: "", row: row, errorPrefix: "failed to execute template")
        }
        #expect(
            error?.diagnostic.message
                == #"failed to execute template: template: :1:10: executing "" at <.Nope>: can't evaluate field Nope in type *formatter.ContainerContext"#
        )
        let root = #expect(throws: GeneralError.self) {
            try ListFormat("{{range .Names}}{{$.Nope}}{{end}}", defaultTable: "", row: row)
        }
        #expect(
            root?.diagnostic.message
                == #"template parsing error: template: :1:19: executing "" at <$.Nope>: can't evaluate field Nope in type *formatter.ContainerContext"#
        )
        // Inside range, `.` is an element, which only rendering can check.
        #expect(throws: Never.self) { try ListFormat("{{range .Names}}{{.Nope}}{{end}}", defaultTable: "", row: row) }
        let format = try ListFormat("{{.Names}}", defaultTable: "", row: row)
        #expect(try format.render([.map(["ID": .string("1"), "Names": .string("web")])], headers: [:]) == "web\n")
    }

    /// Go prints a nil slice as `[]` and a nil map as `map[]`, but marshals both to `null`.
    @Test(arguments: [
        ("{{.Config.Env}}", "[]"),
        ("{{.Config.Labels}}", "map[]"),
        ("{{.Config.Volumes}}", "map[]"),
        ("{{.Config.Cmd}}", "[]"),
        ("{{.RepoDigests}}", "[]"),
        ("{{json .Config.Env}}", "null"),
        ("{{json .Config.Volumes}}", "null"),
        ("{{json .Config.Labels}}", "null"),
        ("{{json .RepoDigests}}", "[]"),
        ("{{len .Config.Env}}", "0"),
        ("{{len .Config.Labels}}", "0"),
        ("{{if .Config.Env}}set{{else}}unset{{end}}", "unset"),
        ("{{range .Config.Env}}x{{else}}none{{end}}", "none"),
        ("[{{join .Config.Env \",\"}}]", "[]"),
        ("{{printf \"%v %s\" .Config.Env .Config.Labels}}", "[] map[]"),
        ("{{index .Config.Labels \"a\"}}", ""),
    ])
    func inspectUnsetCollectionsPrintAsGo(template: String, expected: String) throws {
        // The shape ImageInspection.document gives an image without tags, digests or config fields.
        let image = OutputJSON.object([
            ("RepoTags", .array([])), ("RepoDigests", .array([])),
            ("Config", ImageInspection.containerConfig(ContainerConfig())),
        ])
        let rendered = try GoTemplate(template).render(image, as: DockerInspectTypes.image)
        #expect(rendered == expected)
    }

    @Test func inspectEmptyCollectionsKeepJSON() throws {
        var config = ContainerConfig()
        config.env = []
        config.labels = [:]
        let image = OutputJSON.object([("Config", ImageInspection.containerConfig(config))])
        let template = try GoTemplate("{{.Config.Env}} {{.Config.Labels}} {{json .Config.Env}} {{json .Config.Labels}}")
        #expect(try template.render(image, as: DockerInspectTypes.image) == "[] map[] [] {}")
    }

    @Test func listFormatHeaders() throws {
        let format = try ListFormat("table {{.Repository}}\\t{{.Tag | upper}}", defaultTable: "")
        #expect(
            try format.render([row], headers: ["Repository": "REPOSITORY", "Tag": "TAG"])
                == "REPOSITORY   TAG\nbusybox      LATEST\n")
        let json = try ListFormat("json", defaultTable: "")
        #expect(!json.isTable)
        let quiet = try ListFormat(nil, defaultTable: "table {{.Tag}}", quiet: true, quietTemplate: "{{.Repository}}")
        #expect(try quiet.render([row], headers: [:]) == "busybox\n")
    }

    @Test(
        arguments: [
            (0, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
            (119, "About a minute"),
            (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"), (5399, "About an hour"),
            (5400, "2 hours"),
            (47 * 3600, "47 hours"), (48 * 3600, "2 days"), (13 * 86400, "13 days"), (14 * 86400, "2 weeks"),
            (59 * 86400, "8 weeks"), (60 * 86400, "2 months"), (729 * 86400, "24 months"), (730 * 86400, "2 years"),
        ] as [(Int64, String)])
    func humanDurations(_ seconds: Int64, _ expected: String) {
        #expect(HumanUnits.duration(seconds: seconds) == expected)
    }

    @Test func sizesAndTimes() {
        #expect(HumanUnits.size(4_261_000) == "4.26MB")
        #expect(HumanUnits.preciseSize(16_430_000) == "16.43MB")
        #expect(HumanUnits.preciseSize(0) == "0B")
        #expect(HumanUnits.goTime(1_714_564_800) == "2024-05-01 12:00:00 +0000 UTC")
        #expect(
            ImageHistoryCommand.ellipsis(String(repeating: "x", count: 50), 45) == String(repeating: "x", count: 44)
                + "…")
    }
}

@Suite struct ImportChangesTests {
    @Test func dockerfileForms() throws {
        var config = ContainerConfig()
        try ImportChanges.apply(
            [
                "CMD echo hi", "ENTRYPOINT [\"/init\"]", "env A=1 B=\"x y\" C='z'", "ENV LEGACY value with spaces",
                "EXPOSE 8080 53/udp", "LABEL a=b", "USER nobody", "VOLUME [\"/a\", \"/b\"]", "WORKDIR /w",
                "STOPSIGNAL SIGTERM", "ONBUILD RUN make",
            ], to: &config)
        #expect(config.cmd == ["/bin/sh", "-c", "echo hi"])
        #expect(config.entrypoint == ["/init"])
        #expect(config.env == ["A=1", "B=x y", "C=z", "LEGACY=value with spaces"])
        #expect(config.exposedPorts == ["53/udp", "8080/tcp"])
        #expect(config.labels == ["a": "b"])
        #expect(config.user == "nobody")
        #expect(config.volumes == ["/a", "/b"])
        #expect(config.workingDir == "/w")
        #expect(config.stopSignal == "SIGTERM")
        #expect(config.onBuild == ["RUN make"])
    }

    @Test func envReplacesEarlierValue() throws {
        var config = ContainerConfig()
        config.env = ["PATH=/bin", "A=old"]
        try ImportChanges.apply(["ENV A=new"], to: &config)
        #expect(config.env == ["PATH=/bin", "A=new"])
    }

    @Test(arguments: [
        "RUN make", "EXPOSE 99999", "EXPOSE 80/icmp", "CMD [\"unterminated\"", "ENV =x", "LABEL \"open", "EXPOSE 1-",
        "EXPOSE -1", "EXPOSE 8002-8000", "EXPOSE 1-2-3",
    ])
    func invalidChangeIsRejected(_ change: String) {
        var config = ContainerConfig()
        #expect(throws: (any Error).self) { try ImportChanges.apply([change], to: &config) }
    }

    @Test func exposeRangeIsKept() throws {
        var config = ContainerConfig()
        try ImportChanges.apply(["EXPOSE 8000-8002 53/udp"], to: &config)
        #expect(config.exposedPorts == ["53/udp", "8000-8002/tcp"])
    }

    @Test func typoGetsSuggestion() {
        var config = ContainerConfig()
        #expect {
            try ImportChanges.apply(["ENTRYPIONT /x"], to: &config)
        } throws: { error in
            (error as? any KilnError)?.diagnostic.hint?.hasPrefix("did you mean ENTRYPOINT?") == true
        }
    }
}

@Suite struct FilterSyntaxTests {
    @Test(arguments: [
        ("busybox", "busybox", true), ("busy*", "busybox", true), ("*", "library/x", false),
        ("b?sybox", "busybox", true),
        ("[a-c]usybox", "busybox", true), ("[^b]usybox", "busybox", false), ("myname/*", "myname/app", true),
        ("*:1.0", "app:1.0", true), ("app", "app:1.0", false),
    ])
    func globMatchesLikePathMatch(_ pattern: String, _ text: String, _ expected: Bool) {
        #expect(Glob.matches(pattern, text) == expected)
    }

    @Test func goDurations() {
        #expect(GoDuration.seconds("24h") == 86400)
        #expect(GoDuration.seconds("1h30m") == 5400)
        #expect(GoDuration.seconds("90s") == 90)
        #expect(GoDuration.seconds("2d") == nil)
        #expect(GoDuration.seconds("") == nil)
    }

    @Test(arguments: [
        ("colour=red", "invalid filter 'colour': valid filters are before, dangling, label, reference, since, until"),
        ("dangling=maybe", "invalid filter 'dangling=maybe': use dangling=true or dangling=false"),
        (
            "until=soon",
            "invalid filter 'until=soon': give a duration such as 24h or 90m, a Unix time, or an RFC 3339 time"
        ),
        ("noequals", "invalid value \"noequals\" for --filter: bad format of filter (expected name=value)"),
    ])
    func badImageFilterIsUsageError(_ filter: String, _ message: String) async {
        let workspace = BuildWorkspace()
        let result = await workspace.run(["images", "--filter", filter])
        #expect(result.status == 125)
        #expect(result.stderr.contains("kiln images: \(message)"), "\(result.stderr)")
        #expect(result.stderr.contains("See 'kiln images --help'."), "\(result.stderr)")
    }

    @Test func unknownFilterIsRejected() {
        #expect(throws: (any Error).self) { try ImageFilters(["colour=red"], command: "kiln images") }
        #expect(throws: (any Error).self) { try ImageFilters(["dangling=maybe"], command: "kiln images") }
        #expect(throws: (any Error).self) { try ImageFilters(["noequals"], command: "kiln images") }
    }
}

/// Docker's documented templates for a container's ports and networks.
@Suite struct TemplateFieldChainTests {
    static let container: OutputJSON = .object([
        (
            "NetworkSettings",
            .object([
                (
                    "Ports",
                    .map([
                        "8080/tcp": .array([.object([("HostIp", .string("127.0.0.1")), ("HostPort", .string("4606"))])])
                    ])
                ),
            ])
        )
    ])

    @Test func fieldOnParenthesizedPipeline() throws {
        let template = try GoTemplate(#"{{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostPort}}"#, strictFields: false)
        #expect(try template.render(Self.container) == "4606")
    }

    @Test func fieldChainInRangeOverPorts() throws {
        let template = try GoTemplate(
            "{{range $p, $b := .NetworkSettings.Ports}}{{$p}}={{(index $b 0).HostIp}}:{{(index $b 0).HostPort}}{{end}}",
            strictFields: false)
        #expect(try template.render(Self.container) == "8080/tcp=127.0.0.1:4606")
    }

    @Test func nestedGroupWithFieldChain() throws {
        let nested = try GoTemplate(#"{{printf "%s!" ((index (index .NetworkSettings.Ports "8080/tcp") 0).HostIp)}}"#)
        #expect(try nested.render(Self.container) == "127.0.0.1!")
        let piped = try GoTemplate(#"{{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostIp | printf "%s?"}}"#)
        #expect(try piped.render(Self.container) == "127.0.0.1?")
    }

    @Test func invalidTextAfterGroupIsError() {
        #expect(throws: GeneralError.self) { try GoTemplate("{{(.NetworkSettings)x}}") }
        #expect(throws: GeneralError.self) { try GoTemplate("{{(.NetworkSettings)..Ports}}") }
    }
}
