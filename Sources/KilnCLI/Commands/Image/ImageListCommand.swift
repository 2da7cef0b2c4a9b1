import Foundation
import KilnDiagnostics
import KilnImage
import KilnStore

/// `kiln image ls` and `kiln images`: the images in the store, one row per repository and tag.
enum ImageListCommand {
    static let all = BoolFlag("all", short: "a", help: "Show all images (default hides intermediate images)")
    static let digests = BoolFlag("digests", help: "Show digests")
    static let filter = ListFlag(
        "filter", short: "f", placeholder: "filter",
        help: "Filter output based on conditions provided (dangling=, label=, reference=, before=, since=)")
    static let format = ValueFlag(
        "format", placeholder: "string",
        help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
    static let noTrunc = BoolFlag("no-trunc", help: "Don't truncate output")
    static let quiet = BoolFlag("quiet", short: "q", help: "Only show image IDs")

    static let defaultTable =
        "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\\t{{.Size}}"
    static let digestTable =
        "table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.ID}}\\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\\t{{.Size}}"

    static let headers = [
        "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "CreatedSince": "CREATED",
        "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS", "VirtualSize": "SIZE",
        "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
    ]

    /// A row's fields, with the Go type that `docker images` formats rows with.
    static let rowType = GoStruct(headers.keys.map { ($0, .string) }, typeName: "*formatter.imageContext")

    static let spec = CommandSpec(
        name: "ls", aliases: ["list"], summary: "List images", usage: "[OPTIONS] [REPOSITORY[:TAG]]",
        flags: [all.spec, digests.spec, filter.spec, format.spec, noTrunc.spec, quiet.spec], arity: .range(0...1)
    ) { arguments, context in
        let filters = try ImageFilters(arguments[filter], command: arguments.commandName)
        let showDigests = arguments[digests]
        var source = arguments[format]
        if let custom = source, custom.hasPrefix("table"), custom != "table", showDigests,
            !custom.contains("{{.Digest}}")
        {
            source = custom + "\\t{{.Digest}}"
        }
        let listFormat = try ListFormat(
            source, defaultTable: showDigests ? digestTable : defaultTable, quiet: arguments[quiet], row: rowType)
        let wantsDigests = showDigests || listFormat.source.contains("{{.Digest}}")
        let truncate = !arguments[noTrunc]
        let showAll = arguments[all]
        let repository = arguments.positionals.first

        let store = try StoreSupport.open(context, access: .readOnly)
        let images = try await StoreSupport.blocking { try store.images() }
        let selected = try filters.apply(to: images, store: store, repository: repository, showAll: showAll)
        let now = StoreSupport.now
        let tableRows = selected.flatMap {
            ImageListCommand.rows(
                for: $0.image, references: $0.references, wantsDigests: wantsDigests, showDigests: showDigests,
                truncate: truncate, now: now)
        }
        context.stdout.write(try listFormat.render(tableRows, headers: headers))
        return ExitStatus.success
    }

    /// Makes the rows of one image as the Docker CLI does. Each tag gets a row, or one per digest
    /// of its repository when digests are shown. Then each repository that has only digests
    /// gets a row. A dangling image gets a single `<none>` row.
    static func rows(
        for image: ImageRecord, references: [Reference], wantsDigests: Bool, showDigests: Bool, truncate: Bool,
        now: Int64
    ) -> [OutputJSON] {
        let tags = references.filter { $0.digest == nil }
        let digestReferences = references.filter { $0.digest != nil }
        guard !tags.isEmpty || !digestReferences.isEmpty else {
            return [row(image, repository: "<none>", tag: "<none>", digest: "<none>", truncate: truncate, now: now)]
        }
        var rows: [OutputJSON] = []
        var digestsByRepository: [String: [String]] = [:]
        for reference in digestReferences {
            digestsByRepository[reference.familiarName, default: []].append(reference.digest?.description ?? "")
        }
        var repositoriesWithTags: Set<String> = []
        for tag in tags.sorted(by: { $0.familiarString < $1.familiarString }) {
            let name = tag.familiarName
            repositoriesWithTags.insert(name)
            let digests = wantsDigests ? digestsByRepository[name] ?? [] : []
            if digests.isEmpty {
                rows.append(
                    row(image, repository: name, tag: tag.tag ?? "", digest: "<none>", truncate: truncate, now: now))
            }
            for digest in digests {
                rows.append(
                    row(image, repository: name, tag: tag.tag ?? "", digest: digest, truncate: truncate, now: now))
            }
        }
        for (name, digests) in digestsByRepository.sorted(by: { $0.key < $1.key })
        where !repositoriesWithTags.contains(name) {
            if showDigests {
                for digest in digests {
                    rows.append(
                        row(image, repository: name, tag: "<none>", digest: digest, truncate: truncate, now: now))
                }
            } else {
                rows.append(row(image, repository: name, tag: "<none>", digest: "", truncate: truncate, now: now))
            }
        }
        return rows
    }

    /// One row with the fields of the Docker CLI's image context, all as strings.
    static func row(_ image: ImageRecord, repository: String, tag: String, digest: String, truncate: Bool, now: Int64)
        -> OutputJSON
    {
        let created = image.createdSeconds
        return .map([
            "Containers": .string("N/A"),
            "CreatedAt": .string(HumanUnits.goTime(created ?? 0)),
            "CreatedSince": .string(created.map { HumanUnits.ago($0, now: now) } ?? ""),
            "Digest": .string(digest),
            "ID": .string(StoreSupport.displayID(image.id, truncate: truncate)),
            "Repository": .string(repository),
            "SharedSize": .string("N/A"),
            "Size": .string(HumanUnits.size(image.size)),
            "Tag": .string(tag),
            "UniqueSize": .string("N/A"),
            "VirtualSize": .string(HumanUnits.preciseSize(image.size)),
        ])
    }
}
