import Foundation
import KilnDiagnostics
import KilnImage
import KilnStore

/// `kiln image analyze`: what each layer adds, changes and removes, and the bytes wasted on
/// files that a later layer overwrites or deletes.
enum ImageAnalyzeCommand {
    static let format = ValueFlag("format", placeholder: "string", help: "Output format: 'table' (default) or 'json'")
    static let noTrunc = BoolFlag("no-trunc", help: "Don't truncate output")
    static let top = ValueFlag("top", placeholder: "int", help: "Number of wasted files to list", default: "10")

    static let spec = CommandSpec(
        name: "analyze", summary: "Show the size, changes and wasted space of each layer of an image",
        usage: "[OPTIONS] IMAGE",
        discussion: """
            SIZE is the layer's uncompressed size, as `kiln history` shows it; the JSON output also has the \
            compressed size as stored (Size). Wasted space is the bytes of files that a layer ships and a \
            later layer overwrites or deletes: they are in every pull of the image but not in its file system.
            """,
        flags: [format.spec, noTrunc.spec, top.spec], arity: .exactly(1)
    ) { arguments, context in
        let outputFormat = arguments[format] ?? "table"
        guard outputFormat == "table" || outputFormat == "json" else {
            throw UsageError(
                command: arguments.commandName,
                reason: .invalidValue(flag: "--format", value: outputFormat, reason: "expected table or json"))
        }
        let topText = arguments[top] ?? "10"
        guard let limit = Int(topText), limit >= 0 else {
            throw UsageError(
                command: arguments.commandName,
                reason: .invalidValue(flag: "--top", value: topText, reason: "expected a count"))
        }
        let name = arguments.positionals[0]
        let store = try StoreSupport.open(context)
        let analysis = try await StoreSupport.blocking {
            try ImageAnalyzer(store: store).analyze(store.image(named: name))
        }
        if outputFormat == "json" {
            context.stdout.line(json(analysis).indented())
        } else {
            context.stdout.write(table(analysis, truncate: !arguments[noTrunc], limit: limit))
        }
        return ExitStatus.success
    }

    static func table(_ analysis: ImageAnalysis, truncate: Bool, limit: Int) -> String {
        var text = "LAYER\tSIZE\tADDED\tCHANGED\tREMOVED\tWASTED\tCREATED BY\n"
        let biggestFirst = analysis.layers.sorted {
            ($0.uncompressedSize, $1.index) > ($1.uncompressedSize, $0.index)
        }
        for layer in biggestFirst {
            let createdBy = (layer.createdBy ?? "").replacingOccurrences(of: "\t", with: " ")
            text +=
                [
                    String(layer.index), HumanUnits.size(layer.uncompressedSize), String(layer.filesAdded),
                    String(layer.filesChanged),
                    String(layer.filesRemoved), HumanUnits.size(layer.wastedBytes),
                    truncate ? ImageHistoryCommand.ellipsis(createdBy, 60) : createdBy,
                ].joined(separator: "\t") + "\n"
        }
        var output = TabWriter().format(text)
        if !analysis.wastedFiles.isEmpty && limit > 0 {
            output += "\nWasted space, biggest first:\n"
            var files = "SIZE\tLAYER\tHIDDEN BY\tPATH\n"
            for file in analysis.wastedFiles.prefix(limit) {
                let hiddenBy = "\(file.hiddenBy) (\(file.removed ? "removed" : "overwritten"))"
                files += "\(HumanUnits.size(file.size))\t\(file.layer)\t\(hiddenBy)\t/\(file.path)\n"
            }
            output += TabWriter().format(files)
            if analysis.wastedFiles.count > limit {
                output += "… and \(analysis.wastedFiles.count - limit) more files\n"
            }
        }
        let percent = analysis.contentSize > 0 ? analysis.wastedBytes * 100 / analysis.contentSize : 0
        output += "\nTotal: \(analysis.layers.count) layers, \(HumanUnits.size(analysis.contentSize)) of files, "
        output +=
            "\(HumanUnits.size(analysis.wastedBytes)) wasted (\(percent)%) in \(analysis.wastedFiles.count) "
            + (analysis.wastedFiles.count == 1 ? "file\n" : "files\n")
        return output
    }

    static func json(_ analysis: ImageAnalysis) -> OutputJSON {
        .object([
            ("Id", .string(analysis.image.id.description)),
            ("ContentSize", .integer(analysis.contentSize)),
            ("WastedBytes", .integer(analysis.wastedBytes)),
            (
                "Layers",
                .array(
                    analysis.layers.map { layer in
                        .object([
                            ("Index", .integer(Int64(layer.index))), ("Digest", .string(layer.digest.description)),
                            ("Size", .integer(layer.size)), ("UncompressedSize", .integer(layer.uncompressedSize)),
                            ("ContentSize", .integer(layer.contentSize)),
                            ("CreatedBy", .string(layer.createdBy ?? "")),
                            ("FilesAdded", .integer(Int64(layer.filesAdded))),
                            ("FilesChanged", .integer(Int64(layer.filesChanged))),
                            ("FilesRemoved", .integer(Int64(layer.filesRemoved))),
                            ("WastedBytes", .integer(layer.wastedBytes)),
                        ])
                    })
            ),
            (
                "WastedFiles",
                .array(
                    analysis.wastedFiles.map { file in
                        .object([
                            ("Path", .string("/" + file.path)), ("Size", .integer(file.size)),
                            ("Layer", .integer(Int64(file.layer))),
                            ("HiddenBy", .integer(Int64(file.hiddenBy))), ("Removed", .bool(file.removed)),
                        ])
                    })
            ),
        ])
    }
}
