import KilnContainer
import Testing

@testable import KilnCLI
@testable import KilnStore

struct VolumeCommandTests {
    static let labelled = Volume(name: "data", created: 86_400, labels: ["team": "web", "tier": ""])
    static let anonymous = Volume(
        name: String(repeating: "a", count: 64), created: 0, labels: [Volume.anonymousLabel: ""])

    @Test func labelsParsedAsDockerReadsThem() throws {
        #expect(
            try LabelArguments.parse(["a=b", "c", "d=e=f", "g="], command: "kiln volume create")
                == ["a": "b", "c": "", "d": "e=f", "g": ""])
    }

    @Test func labelsRejectEmptyOrSpacedName() {
        for value in ["=x", "=", " =x", "a b=c"] {
            #expect(throws: UsageError.self, "\(value)") {
                try LabelArguments.parse(["ok=1", value], command: "kiln volume create")
            }
        }
    }

    @Test func labelsTextSortedByKey() {
        #expect(VolumeLabels.text(["z": "1", "a": "2", "m": ""]) == "a=2,m=,z=1")
    }

    @Test func filterByDanglingNameAndLabel() throws {
        let dangling = try VolumeFilters(["dangling=true"], command: "kiln volume ls", allowed: VolumeFilters.listKeys)
        #expect(dangling.matches(Self.labelled, links: 0))
        #expect(!dangling.matches(Self.labelled, links: 1))

        let used = try VolumeFilters(["dangling=0"], command: "kiln volume ls", allowed: VolumeFilters.listKeys)
        #expect(used.matches(Self.labelled, links: 2))
        #expect(!used.matches(Self.labelled, links: 0))

        let name = try VolumeFilters(["name=^da"], command: "kiln volume ls", allowed: VolumeFilters.listKeys)
        #expect(name.matches(Self.labelled, links: 0))
        #expect(!name.matches(Self.anonymous, links: 0))

        let label = try VolumeFilters(["label=team=web", "label=tier"], command: "kiln volume ls", allowed: VolumeFilters.listKeys)
        #expect(label.matches(Self.labelled, links: 0))
        #expect(!label.matches(Self.anonymous, links: 0))
        let missingLabel = try VolumeFilters(["label=team=web", "label=other"], command: "kiln volume ls", allowed: VolumeFilters.listKeys)
        #expect(!missingLabel.matches(Self.labelled, links: 0))

        let notLabel = try VolumeFilters(["label!=tier"], command: "kiln volume ls", allowed: VolumeFilters.listKeys)
        #expect(!notLabel.matches(Self.labelled, links: 0))
        #expect(notLabel.matches(Self.anonymous, links: 0))

        let both = try VolumeFilters(["name=data", "dangling=false"], command: "kiln volume ls", allowed: VolumeFilters.listKeys)
        #expect(!both.matches(Self.labelled, links: 0))
        #expect(both.matches(Self.labelled, links: 1))
    }

    @Test func filterRejectsUnknownKeyAndValue() {
        #expect(throws: UsageError(command: "kiln volume ls", reason: .custom("invalid filter 'until'"))) {
            try VolumeFilters(["until=24h"], command: "kiln volume ls", allowed: VolumeFilters.listKeys)
        }
        #expect(
            throws: UsageError(
                command: "kiln volume ls", reason: .custom("invalid filter 'dangling=maybe': expected true, false, 1 or 0"))
        ) {
            try VolumeFilters(["dangling=maybe"], command: "kiln volume ls", allowed: VolumeFilters.listKeys)
        }
        #expect(throws: UsageError.self) {
            try VolumeFilters(["dangling=true"], command: "kiln volume prune", allowed: VolumeFilters.pruneKeys)
        }
    }

    /// These once indexed an empty array and stopped kiln with SIGILL.
    @Test(arguments: [
        ("", "bad format of filter (expected name=value)"), ("label", "bad format of filter (expected name=value)"),
        ("=x", "bad format of filter (expected name=value)"), ("label=", "the label name is empty"),
        ("label==", "the label name is empty"), ("label!=", "the label name is empty"),
    ])
    func emptyFilterPartsAreRejected(_ value: String, _ reason: String) {
        for (command, keys) in [("kiln volume ls", VolumeFilters.listKeys), ("kiln volume prune", VolumeFilters.pruneKeys)] {
            #expect {
                try VolumeFilters([value], command: command, allowed: keys)
            } throws: { error in
                (error as? UsageError)?.rendered.contains(reason) ?? false
            }
        }
        #expect {
            try ContainerFilters([value], command: "kiln ps", allowed: ContainerFilters.psKeys)
        } throws: { error in
            (error as? UsageError)?.rendered.contains(reason) ?? false
        }
        #expect {
            try ContainerFilters([value], command: "kiln container prune", allowed: ContainerFilters.pruneKeys)
        } throws: { error in
            (error as? UsageError)?.rendered.contains(reason) ?? false
        }
    }

    @Test func everyLabelFilterMustMatch() throws {
        let both = Volume(name: "both", created: 0, labels: ["a": "", "b": ""])
        let onlyA = Volume(name: "only-a", created: 0, labels: ["a": ""])
        let labels = try VolumeFilters(["label=a", "label=b"], command: "kiln volume prune", allowed: VolumeFilters.pruneKeys)
        #expect(labels.matches(both, links: 0))
        #expect(!labels.matches(onlyA, links: 0))
        let absent = try VolumeFilters(["label!=a", "label!=c"], command: "kiln volume prune", allowed: VolumeFilters.pruneKeys)
        #expect(!absent.matches(onlyA, links: 0))
        #expect(absent.matches(Volume(name: "none", created: 0, labels: [:]), links: 0))
        let names = try VolumeFilters(["name=both", "name=only"], command: "kiln volume ls", allowed: VolumeFilters.listKeys)
        #expect(names.matches(both, links: 0))
        #expect(names.matches(onlyA, links: 0))
    }

    @Test func labelMatchIgnoresEmptyParts() {
        #expect(!ContainerFilters.matchesLabel(["a": "1"], ""))
        #expect(!ContainerFilters.matchesLabel(["a": "1"], "="))
        #expect(ContainerFilters.matchesLabel(["": "x"], "=x"))
    }

    @Test func pruneFilterAllWorksAsFlag() throws {
        let all = try VolumeFilters(["all=true"], command: "kiln volume prune", allowed: VolumeFilters.pruneKeys)
        #expect(all.all)
        let notAll = try VolumeFilters(["all=0"], command: "kiln volume prune", allowed: VolumeFilters.pruneKeys)
        #expect(!notAll.all)
        #expect(!VolumeFilters().all)
    }

    @Test func inspectDocumentHasDockerFields() {
        let document = VolumeInspectCommand.document(Self.labelled, mountpoint: "/var/lib/kiln/volumes/data/_data")
        #expect(
            document.indented() == """
                {
                    "CreatedAt": "1970-01-02T00:00:00Z",
                    "Driver": "local",
                    "Labels": {
                        "team": "web",
                        "tier": ""
                    },
                    "Mountpoint": "/var/lib/kiln/volumes/data/_data",
                    "Name": "data",
                    "Options": null,
                    "Scope": "local"
                }
                """)
    }

    @Test func inspectLabelsNullWhenEmpty() {
        let document = VolumeInspectCommand.document(Volume(name: "x1", created: 0, labels: [:]), mountpoint: "/m")
        #expect(document.indented().contains("\"Labels\": null,"))
    }

    @Test func listTableColumns() throws {
        let format = try ListFormat(nil, defaultTable: VolumeListCommand.defaultTable)
        let rows = [Self.anonymous, Self.labelled].map { VolumeListCommand.row($0, mountpoint: "/m", links: 0) }
        let output = try format.render(rows, headers: VolumeListCommand.headers)
        #expect(output == "DRIVER    VOLUME NAME\nlocal     \(Self.anonymous.name)\nlocal     data\n")
    }

    @Test func listQuietPrintsNames() throws {
        let format = try ListFormat(nil, defaultTable: VolumeListCommand.defaultTable, quiet: true, quietTemplate: "{{.Name}}")
        let output = try format.render([VolumeListCommand.row(Self.labelled, mountpoint: "/m", links: 0)], headers: VolumeListCommand.headers)
        #expect(output == "data\n")
    }

    @Test func listFormatLabelsAndLinks() throws {
        let format = try ListFormat("{{.Name}} {{.Labels}} {{.Links}} {{.Scope}}", defaultTable: VolumeListCommand.defaultTable)
        let output = try format.render([VolumeListCommand.row(Self.labelled, mountpoint: "/m", links: 3)], headers: VolumeListCommand.headers)
        #expect(output == "data team=web,tier= 3 local\n")
    }

    @Test func pruneOutputListsDeletedVolumes() {
        #expect(VolumePruneCommand.output([]) == "")
        #expect(VolumePruneCommand.output([("a1", 5), ("b2", 0)]) == "Deleted Volumes:\na1\nb2\n\n")
    }

    @Test func pruneWarningNamesWhichVolumes() {
        #expect(VolumePruneCommand.warning(all: false).hasPrefix("WARNING! This will remove anonymous local volumes not used"))
        #expect(VolumePruneCommand.warning(all: true).hasPrefix("WARNING! This will remove all local volumes not used"))
    }

    @Test func diskUsageVolumeTable() throws {
        let usage = SystemDiskUsageCommand.VolumeUsage(name: "data", links: 2, size: 1500)
        let empty = DiskUsage(
            images: [], imagesSize: 0, imagesReclaimable: 0, activeImages: 0, containers: [], cacheRecords: [], cache: [])
        let output = try SystemDiskUsageCommand.verboseOutput(empty, volumes: [usage], now: 0)
        #expect(output.contains("Local Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\ndata          2         1.5kB\n"))
    }
}
