import Foundation
import KilnDiagnostics
import KilnImage
import KilnStore

/// `kiln history` and `kiln image history`: the steps that made an image, newest first.
enum ImageHistoryCommand {
    static let format = ValueFlag(
        "format", placeholder: "string",
        help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
    static let human = BoolFlag(
        "human", short: "H", help: "Print sizes and dates in human readable format (default true)")
    static let noTrunc = BoolFlag("no-trunc", help: "Don't truncate output")
    static let quiet = BoolFlag("quiet", short: "q", help: "Only show image IDs")

    static let humanTable = "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}"
    static let exactTable = "table {{.ID}}\\t{{.CreatedAt}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}"
    static let headers = [
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY", "Size": "SIZE",
        "Comment": "COMMENT",
    ]

    static let spec = CommandSpec(
        name: "history", summary: "Show the history of an image", usage: "[OPTIONS] IMAGE",
        flags: [format.spec, human.spec, noTrunc.spec, quiet.spec], arity: .exactly(1)
    ) { arguments, context in
        let isHuman = arguments.wasGiven(human.spec) ? arguments[human] : true
        let listFormat = try ListFormat(
            arguments[format], defaultTable: isHuman ? humanTable : exactTable, quiet: arguments[quiet],
            row: GoStruct(headers.keys.map { ($0, .string) }, typeName: "*image.historyContext"))
        let truncate = !arguments[noTrunc]
        let name = arguments.positionals[0]
        let store = try StoreSupport.open(context, access: .readOnly)
        let entries = try await StoreSupport.blocking { () -> [Entry] in
            let image = try store.image(named: name)
            return try ImageHistoryCommand.entries(of: image, store: store)
        }
        let now = StoreSupport.now
        let rows = entries.map { row($0, truncate: truncate, human: isHuman, now: now) }
        context.stdout.write(try listFormat.render(rows, headers: headers))
        return ExitStatus.success
    }

    struct Entry: Sendable {
        var id: String
        var created: Int64?
        var createdBy: String
        var size: Int64
        var comment: String
    }

    /// Lists one entry per history record, newest first. The newest carries the image ID and the
    /// others `<missing>`, as Docker shows images it did not build locally. Non-empty history
    /// records take the sizes of the layers in order.
    static func entries(of image: ImageRecord, store: Store) throws -> [Entry] {
        let config = try store.readConfig(image.config.digest, expectedSize: image.config.size)
        var layerSizes = try store.layers(of: image).map { $0.uncompressedSize ?? $0.size }[...]
        var history = config.history ?? []
        if history.isEmpty {
            history = layerSizes.map { _ in History(created: config.created) }
        }
        var entries: [Entry] = []
        for record in history {
            var size: Int64 = 0
            if !record.isEmptyLayer, let next = layerSizes.popFirst() { size = next }
            entries.append(
                Entry(
                    id: "<missing>", created: record.created.flatMap(RFC3339.parse)?.seconds,
                    createdBy: record.createdBy ?? "", size: size, comment: record.comment ?? ""))
        }
        entries.reverse()
        if !entries.isEmpty { entries[0].id = image.id.description }
        return entries
    }

    static func row(_ entry: Entry, truncate: Bool, human: Bool, now: Int64) -> OutputJSON {
        let id =
            entry.id == "<missing>"
            ? entry.id : (truncate ? String(entry.id.dropFirst("sha256:".count).prefix(12)) : entry.id)
        let createdAt = entry.created.map { RFC3339.format(RFC3339.Instant(seconds: $0)) } ?? ""
        let createdBy = entry.createdBy.replacingOccurrences(of: "\t", with: " ")
        return .map([
            "Comment": .string(entry.comment),
            "CreatedAt": .string(createdAt),
            "CreatedBy": .string(truncate ? ellipsis(createdBy, 45) : createdBy),
            "CreatedSince": .string(human ? (entry.created.map { HumanUnits.ago($0, now: now) } ?? "N/A") : createdAt),
            "ID": .string(id),
            "Size": .string(human ? HumanUnits.size(entry.size) : String(entry.size)),
        ])
    }

    /// `text` cut to `width` characters with a trailing `…`, as the Docker CLI's `Ellipsis`.
    static func ellipsis(_ text: String, _ width: Int) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count > width else { return text }
        var result = String.UnicodeScalarView(scalars.prefix(width - 1))
        result.append("…")
        return String(result)
    }
}
