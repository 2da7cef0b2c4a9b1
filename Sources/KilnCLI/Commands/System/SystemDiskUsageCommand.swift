import KilnContainer
import KilnDiagnostics
import KilnStore

/// `kiln system df`: how much space images, containers, volumes and the build cache use.
enum SystemDiskUsageCommand {
    static let format = ValueFlag(
        "format", placeholder: "string",
        help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
    static let verbose = BoolFlag("verbose", short: "v", help: "Show detailed information on space usage")

    static let summaryTable = "table {{.Type}}\\t{{.TotalCount}}\\t{{.Active}}\\t{{.Size}}\\t{{.Reclaimable}}"
    static let summaryHeaders = [
        "Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE",
    ]
    static let imageTable =
        "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}\\t{{.SharedSize}}\\t{{.UniqueSize}}\\t{{.Containers}}"
    static let containerTable =
        "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.LocalVolumes}}\\t{{.Size}}\\t{{.CreatedSince}}\\t{{.Status}}\\t{{.Names}}"
    static let cacheTable =
        "table {{.ID}}\\t{{.CacheType}}\\t{{.Size}}\\t{{.CreatedSince}}\\t{{.LastUsedSince}}\\t{{.UsageCount}}\\t{{.Shared}}"

    static let spec = CommandSpec(
        name: "df", summary: "Show kiln disk usage", flags: [format.spec, verbose.spec]
    ) { arguments, context in
        let store = try StoreSupport.open(context, access: .readOnly)
        let (usage, volumes) = try await StoreSupport.blocking {
            (try measuredContainers(store.diskUsage(), store: store), try volumeUsage(store))
        }
        let now = StoreSupport.now
        if arguments[verbose] {
            let containers = try await StoreSupport.blocking { try ContainerRepository(store: store).all() }
            let details = Dictionary(containers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            context.stdout.write(try verboseOutput(usage, volumes: volumes, containers: details, now: now))
            return ExitStatus.success
        }
        let listFormat = try ListFormat(
            arguments[format], defaultTable: summaryTable,
            row: GoStruct(summaryHeaders.keys.map { ($0, .string) }, typeName: "*formatter.diskUsageImagesContext"))
        let containersSize = usage.containers.compactMap(\.size).reduce(0, +)
        let containersReclaimable = usage.containers.filter { !$0.isRunning }.compactMap(\.size).reduce(0, +)
        let rows: [OutputJSON] = [
            summary("Images", usage.images.count, usage.activeImages, usage.imagesSize, usage.imagesReclaimable),
            summary(
                "Containers", usage.containers.count, usage.containers.filter(\.isRunning).count, containersSize,
                containersReclaimable),
            summary(
                "Local Volumes", volumes.count, volumes.filter { $0.links > 0 }.count,
                volumes.reduce(0) { $0 + $1.size }, volumes.filter { $0.links == 0 }.reduce(0) { $0 + $1.size }),
            // SIZE is what the cache keeps on disk, which the rows of `-v` add up to. Docker leaves
            // out the layers that images share, so its summary can read 0B beside a long `-v` list.
            summary("Build Cache", usage.cache.count, 0, usage.cacheTotalSize, usage.cacheSize, percent: false),
        ]
        context.stdout.write(
            try listFormat.render(rows, headers: summaryHeaders))
        return ExitStatus.success
    }

    private static func summary(
        _ type: String, _ total: Int, _ active: Int, _ size: Int64, _ reclaimable: Int64, percent: Bool = true
    )
        -> OutputJSON
    {
        var reclaimableText = HumanUnits.preciseSize(reclaimable)
        if percent && size > 0 { reclaimableText += " (\(reclaimable * 100 / size)%)" }
        return .map([
            "Type": .string(type), "TotalCount": .string(String(total)), "Active": .string(String(active)),
            "Size": .string(HumanUnits.preciseSize(size)), "Reclaimable": .string(reclaimableText),
        ])
    }

    /// One volume's row: the containers that mount it and the bytes its directory holds.
    struct VolumeUsage {
        var name: String
        var links: Int
        var size: Int64
    }

    static func volumeUsage(_ store: Store) throws -> [VolumeUsage] {
        let repository = VolumeRepository(store: store)
        let users = try repository.users()
        return try repository.all().map { volume in
            VolumeUsage(name: volume.name, links: users[volume.name]?.count ?? 0, size: repository.size(of: volume.name))
        }
    }

    /// Fills in each container's writable layer size, which the store does not record.
    static func measuredContainers(_ usage: DiskUsage, store: Store) -> DiskUsage {
        var usage = usage
        for index in usage.containers.indices {
            usage.containers[index].size = ContainerFilesystem(store: store, id: usage.containers[index].id).upperSize()
        }
        return usage
    }

    /// The `-v` sections, in Docker's order and wording.
    static func verboseOutput(
        _ usage: DiskUsage, volumes: [VolumeUsage] = [], containers: [String: Container] = [:], now: Int64
    ) throws -> String {
        var output = "Images space usage:\n\n"
        let imageRows: [OutputJSON] = usage.images.map { entry in
            let image = entry.image
            let reference = image.tags.first
            return .map([
                "Repository": .string(reference?.familiarName ?? "<none>"), "Tag": .string(reference?.tag ?? "<none>"),
                "ID": .string(image.id.shortHex),
                "CreatedSince": .string(image.createdSeconds.map { HumanUnits.ago($0, now: now) } ?? "N/A"),
                "Size": .string(HumanUnits.preciseSize(entry.size)),
                "SharedSize": .string(HumanUnits.preciseSize(entry.sharedSize)),
                "UniqueSize": .string(HumanUnits.preciseSize(entry.size - entry.sharedSize)),
                "Containers": .string(String(entry.containers)),
            ])
        }
        output += try ListFormat(nil, defaultTable: imageTable).render(imageRows, headers: ImageListCommand.headers)

        output += "\nContainers space usage:\n\n"
        let containerRows: [OutputJSON] = usage.containers.map { record in
            // COMMAND, LOCAL VOLUMES and STATUS as `docker system df -v` shows them, from the
            // full record; the store's row alone has only the bare state.
            let container = containers[record.id]
            let volumes = container.map { Set($0.specification.mounts.filter { $0.kind == .volume }.map(\.source)).count }
            return .map([
                "ID": .string(String(record.id.prefix(12))),
                "Image": .string(record.imageReference ?? record.imageID?.shortHex ?? ""),
                "Command": .string(container.map { ContainerDisplay.command($0, truncate: true) } ?? ""),
                "LocalVolumes": .string(String(volumes ?? 0)),
                "Size": .string(HumanUnits.preciseSize(record.size ?? 0)),
                "CreatedSince": .string(HumanUnits.ago(record.created, now: now)),
                "Status": .string(
                    container.map { ContainerDisplay.status($0, now: Double(now)) }
                        ?? record.state.prefix(1).uppercased() + record.state.dropFirst()),
                "Names": .string(record.name ?? ""),
            ])
        }
        output += try ListFormat(nil, defaultTable: containerTable).render(
            containerRows,
            headers: [
                "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "LocalVolumes": "LOCAL VOLUMES",
                "Size": "SIZE", "CreatedSince": "CREATED", "Status": "STATUS", "Names": "NAMES",
            ])

        output += "\nLocal Volumes space usage:\n\n"
        let volumeRows: [OutputJSON] = volumes.map { volume in
            .map([
                "Name": .string(volume.name), "Links": .string(String(volume.links)),
                "Size": .string(HumanUnits.preciseSize(volume.size)),
            ])
        }
        output += try ListFormat(nil, defaultTable: "table {{.Name}}\\t{{.Links}}\\t{{.Size}}").render(
            volumeRows, headers: ["Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"])

        output += "\nBuild cache usage: \(HumanUnits.preciseSize(usage.cacheTotalSize))\n\n"
        let cacheRows: [OutputJSON] = usage.cache.map { entry in
            guard let record = entry.record else {
                // A RUN --mount=type=cache directory, with the cache type BuildKit gives those.
                return .map([
                    "ID": .string(String((entry.mountName ?? "").prefix(12))), "CacheType": .string("exec.cachemount"),
                    "Size": .string(HumanUnits.preciseSize(entry.size)), "CreatedSince": .string(""),
                    "LastUsedSince": .string(""), "UsageCount": .string(""), "Shared": .string("false"),
                ])
            }
            return .map([
                "ID": .string(String(record.key.split(separator: ":").last?.prefix(12) ?? "")),
                "CacheType": .string(record.layerDigest == nil ? "frontend" : "regular"),
                "Size": .string(HumanUnits.preciseSize(entry.size)),
                "CreatedSince": .string(HumanUnits.ago(record.created, now: now)),
                "LastUsedSince": .string(HumanUnits.ago(record.lastUsed, now: now)),
                "UsageCount": .string(String(record.usageCount)),
                "Shared": .string(String(entry.isShared)),
            ])
        }
        output += try ListFormat(nil, defaultTable: cacheTable).render(
            cacheRows,
            headers: [
                "ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
                "LastUsedSince": "LAST USED",
                "UsageCount": "USAGE", "Shared": "SHARED",
            ])
        return output
    }
}
