import Foundation
import Glibc
import KilnDiagnostics
import KilnDockerfile
import KilnImage
import KilnRuntime
import KilnSnapshot
import KilnStore
import KilnSystem

/// COPY and ADD after expansion, in one shape.
struct CopyRequest: Sendable {
    var keyword: String
    var sources: [CopySource]
    var destination: String
    var from: String?
    var chown: String?
    var mode: FileMode?
    var link: Bool
    var parents: Bool
    var excludes: [String]
    var checksum: String?
    var unpack: Bool?
    var keepGitDir: Bool
    var isAdd: Bool

    init(_ copy: CopyInstruction) {
        keyword = "COPY"
        sources = copy.sources
        destination = copy.destination
        from = copy.from
        chown = copy.chown
        mode = copy.mode
        link = copy.link
        parents = copy.parents
        excludes = copy.excludes
        checksum = nil
        unpack = false
        keepGitDir = false
        isAdd = false
    }

    init(_ add: AddInstruction) {
        keyword = "ADD"
        sources = add.sources
        destination = add.destination
        from = nil
        chown = add.chown
        mode = add.mode
        link = add.link
        parents = false
        excludes = add.excludes
        checksum = add.checksum
        unpack = add.unpack
        keepGitDir = add.keepGitDir
        isAdd = true
    }
}

/// One thing a COPY or ADD copies.
enum CopyItem: Sendable {
    /// A file, directory or link from the context or another stage, with what it holds.
    case tree(source: String, resolved: BuildContext.ResolvedPath, entries: [ContextEntry])
    /// A heredoc's text as a file.
    case inline(name: String, content: [UInt8])
    /// A file downloaded for `ADD URL`.
    case download(Download)
}

extension StageBuilder {
    func copyFiles(_ instruction: Instruction, _ request: CopyRequest, used: Set<String>, plugins: [PluginIdentity])
        async throws -> Bool
    {
        try Self.check(request)
        let workdir = state.containerConfig.workingDir
        let destination = Self.destinationPath(request.destination, workdir: workdir)
        let intoDirectory = request.parents || Self.namesDirectory(request.destination)

        // Where the sources come from: the context, or another stage's or image's filesystem.
        var origin = engine.context
        var originKey = "context"
        var view: SnapshotView?
        var preservesOwners = false
        if let from = request.from {
            let source = try await sourceState(from)
            originKey = source.cacheKey.description
            let layers = source.layers.map(\.snapshotLayer)
            let snapshotter = engine.snapshotter
            let lease = self.lease
            let opened = try await blocking {
                let chain = try snapshotter.prepare(layers, lease: lease)
                return try snapshotter.makeView(of: chain, lease: lease)
            }
            view = opened
            origin = try BuildContext(directory: opened.path, ignore: .empty, statCache: nil)
            preservesOwners = true
        }
        defer { view?.close() }

        let scratch = try store.makeScratchDirectory(lease: lease)
        defer { engine.snapshotter.removeQuietly(scratch) }
        let excludes = try DockerIgnore(patternTexts: request.excludes)
        var items: [CopyItem] = []
        for source in request.sources {
            switch source {
            case .heredoc(let heredoc):
                items.append(.inline(name: heredoc.name, content: Array(heredoc.effectiveContent.utf8)))
            case .path(let path) where request.isAdd && Self.isURL(path):
                items.append(.download(try await fetch(path, checksum: request.checksum, scratch: scratch)))
            case .path(let path):
                guard let origin else {
                    throw BuildError(.sourceNotFound(path, origin: "build context (this build has no context)"))
                }
                let matches = try origin.expand(path)
                if matches.isEmpty {
                    if BuildContext.hasWildcard(path) { throw BuildError(.noSourceFiles(path)) }
                    let originName = request.from.map { "stage or image \($0)" } ?? "build context"
                    if try origin.isLinkLoop(path) { throw BuildError(.sourceLinkLoop(path, origin: originName)) }
                    throw BuildError(.sourceNotFound(path, origin: originName))
                }
                for match in matches {
                    if let name = match.path.string, !excludes.patterns.isEmpty, match.status.kind != .directory,
                        excludes.isExcluded(name)
                    {
                        continue
                    }
                    items.append(.tree(source: path, resolved: match, entries: try origin.entries(below: match, excludes: excludes)))
                }
            }
        }
        if items.count > 1 && !intoDirectory {
            throw BuildError(.destinationNotDirectory(request.destination))
        }

        var builder = keyBuilder(kind: request.isAdd ? "add" : "copy", instruction, used: used, plugins: plugins)
        builder.add("origin", originKey)
        builder.add("destination", destination.description)
        builder.add("workdir", workdir ?? "")
        builder.add("items", try await itemKeys(items, origin: origin, hashed: request.from == nil))

        let history = HistoryText.copy(keyword: request.keyword, sources: request.sources, destination: request.destination)
        let parentState = state
        let copyItems = items
        return try await cachedStep(key: builder.key, description: descriptionOf(instruction)) {
            let userDatabase: UserDatabase? =
                if request.chown != nil { try await withView(of: parentState) { try UserDatabase.load(rootfs: $0) } } else { nil }
            let owner = try request.chown.map { try Self.chownOwner($0, database: userDatabase ?? UserDatabase()) }
            let copyLayer = try await withCopyFilesystem(link: request.link) { filesystem in
                var overrides = EntryCopier.Overrides()
                if let owner {
                    overrides.userID = owner.uid
                    overrides.groupID = owner.gid
                } else if !preservesOwners {
                    overrides.userID = 0
                    overrides.groupID = 0
                }
                overrides.permissions = request.mode.flatMap(Self.permissionChange)
                let root = try RootDirectory(path: FilePath(filesystem.rootPath))
                let sourceRoot = origin?.root ?? root
                var tree = TreeCopy(root: root, sourceRoot: sourceRoot, copier: EntryCopier(overrides: overrides))
                if let owner { tree.parentOwner = owner }
                let epoch = self.options.sourceDateEpoch
                let copyTree = tree
                try await blocking(cancellable: { cancellation in
                    var cancellableTree = copyTree
                    cancellableTree.cancellation = cancellation
                    for item in copyItems {
                        try Self.copy(
                            item, request: request, destination: destination, intoDirectory: intoDirectory,
                            tree: cancellableTree, epoch: epoch)
                    }
                })
            }
            return StepProduct(history: history, layer: copyLayer)
        }
    }

    /// Runs `body` in the filesystem a COPY writes to: over the current layers, or for
    /// `--link` over nothing, so the layer does not depend on what is below it.
    private func withCopyFilesystem(link: Bool, _ body: (StepFilesystem) async throws -> Void) async throws -> CommittedLayer? {
        guard link else {
            return try await withStepFilesystem(body).1
        }
        let saved = state
        state.layers = []
        defer { state = saved }
        let (_, layer) = try await withStepFilesystem(body)
        // The snapshot kept by the step sits on an empty chain; the layer is unpacked onto the
        // real chain when a later step needs it.
        return layer.map { CommittedLayer(layer: $0.layer, chainID: nil) }
    }

    /// The cache-key fields of the items: paths and, for context files, their content digests.
    private func itemKeys(_ items: [CopyItem], origin: BuildContext?, hashed: Bool) async throws -> [String] {
        var fields: [String] = []
        for item in items {
            switch item {
            case .inline(let name, let content):
                fields.append("inline \(name) \(Digest.sha256(of: content))")
            case .download(let download):
                fields.append("url \(download.name) \(download.digest) \(download.lastModified ?? 0)")
            case .tree(let source, let resolved, let entries):
                var digests = [Digest?](repeating: nil, count: entries.count)
                if hashed, let origin {
                    digests = try await blocking(cancellable: { cancellation in
                        try origin.hashes.digests(of: entries, root: origin.root, cancellation: cancellation)
                    })
                }
                fields.append("tree \(source) \(resolved.path) \(CopyKey.digest(of: entries, digests: digests))")
            }
        }
        return fields
    }

    /// Copies one item following Docker's rules for the destination.
    static func copy(
        _ item: CopyItem, request: CopyRequest, destination: FilePath, intoDirectory: Bool, tree: TreeCopy, epoch: Int64?
    ) throws {
        let now = timespec(tv_sec: Int(epoch ?? Int64(Date().timeIntervalSince1970)), tv_nsec: 0)
        switch item {
        case .inline(let name, let content):
            let target = try tree.fileDestination(destination, name: FilePath(name), intoDirectory: intoDirectory)
            try tree.writeFile(content, to: target, permissions: 0o644, modificationTime: now)
        case .download(let download):
            let target = try tree.fileDestination(destination, name: FilePath(download.name), intoDirectory: intoDirectory)
            let file = try FileDescriptor.open(download.path, flags: O_RDONLY)
            let content = try file.readAll(limit: Int.max)
            let time = download.lastModified.map { timespec(tv_sec: Int($0), tv_nsec: 0) } ?? now
            try tree.writeFile(content, to: target, permissions: 0o600, modificationTime: time)
        case .tree(let source, let resolved, let entries):
            let base = request.parents ? destination.appending(Self.parentsPath(source, resolved.path)) : destination
            if resolved.status.kind == .directory {
                try tree.copyDirectory(entries, to: base)
                return
            }
            guard let entry = entries.first else { return }
            if request.isAdd, request.unpack != false, entry.status.kind == .regular {
                let file = try tree.sourceRoot.open(entry.contextPath, flags: O_RDONLY | O_NOFOLLOW)
                if try ArchiveExtractor.isCheckedArchive(file, name: source) {
                    let directory = try DirectoryMaker(root: tree.root, userID: tree.parentOwner.uid, groupID: tree.parentOwner.gid)
                        .make(destination)
                    let extraction = try RootDirectory(
                        descriptor: try tree.root.openDirectory(directory), path: FilePath("/" + (directory.string ?? "")))
                    var extractor = ArchiveExtractor()
                    extractor.cancellation = tree.cancellation
                    if let uid = tree.copier.overrides.userID, request.chown != nil {
                        extractor.owner = (uid, tree.copier.overrides.groupID ?? uid)
                    }
                    extractor.permissions = tree.copier.overrides.permissions
                    try extractor.extract(file, into: extraction, name: source)
                    return
                }
            }
            let name = resolved.path.lastComponent ?? FilePath(source)
            let target: DirectoryEntry
            if request.parents {
                target = try tree.fileDestination(base, name: name, intoDirectory: false)
            } else {
                target = try tree.fileDestination(destination, name: name, intoDirectory: intoDirectory)
            }
            try tree.copyFile(entry, to: target)
        }
    }

    /// The path `--parents` keeps for a source: everything after a `/./` in the source as
    /// written, else the whole path in the context.
    static func parentsPath(_ source: String, _ resolved: FilePath) -> FilePath {
        if let pivot = source.range(of: "/./") {
            let kept = FilePath(String(source[pivot.upperBound...]))
            let depth = kept.components.count
            return FilePath.joining(resolved.components.suffix(depth))
        }
        return resolved
    }

    /// The destination made absolute against the working directory.
    static func destinationPath(_ destination: String, workdir: String?) -> FilePath {
        FilePath(String(joinPath(workdir, destination).dropFirst()))
    }

    /// Whether a destination as written names a directory: a trailing slash, `.` or `..`.
    static func namesDirectory(_ destination: String) -> Bool {
        destination.hasSuffix("/") || destination == "." || destination == ".." || destination.hasSuffix("/.")
            || destination.hasSuffix("/..")
    }

    static func isURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("http://") || lowered.hasPrefix("https://")
    }

    static func isGitSource(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("git@") || lowered.hasPrefix("git://") || lowered.hasSuffix(".git")
            || lowered.contains(".git#")
    }

    /// Returns the change that a `--chmod` value makes to each copied entry.
    static func permissionChange(_ mode: FileMode?) -> PermissionChange? {
        switch mode {
        case .octal(let bits): .set(mode_t(bits))
        case .symbolic(let text): PermissionChange(symbolic: text)
        case nil: nil
        }
    }

    /// Rejects flag values kiln parses but cannot honour.
    static func check(_ request: CopyRequest) throws {
        if case .symbolic(let text) = request.mode, permissionChange(request.mode) == nil {
            throw BuildError(.invalidValue("\(request.keyword) --chmod=\(text): not a valid symbolic mode"))
        }
        if request.keepGitDir {
            throw BuildError(.unsupported("ADD --keep-git-dir (kiln does not fetch git repositories)"))
        }
        for case .path(let path) in request.sources {
            if request.isAdd && isGitSource(path) {
                throw BuildError(.unsupported("ADD of a git repository (\(path))"))
            }
            if request.isAdd && isURL(path) && request.unpack == true {
                throw BuildError(.unsupported("ADD --unpack=true for a URL"))
            }
            if request.checksum != nil && !isURL(path) {
                throw BuildError(.invalidValue("ADD --checksum works only with http and https sources, not \"\(path)\""))
            }
        }
    }

    /// Downloads a URL source, checking `--checksum` when given.
    private func fetch(_ url: String, checksum: String?, scratch: ScratchDirectory) async throws -> Download {
        let path = scratch.path + "/download-" + Digest.sha256(of: Array(url.utf8)).shortHex
        let download = try await URLDownload.fetch(url, to: path)
        if let checksum {
            try URLDownload.verify(download, checksum: checksum, url: url)
        }
        return download
    }

    /// The state of a stage or image that `--from` names.
    func sourceState(_ reference: String) async throws -> ImageState {
        if let stage = plan.stage(named: reference) {
            guard stage.index != self.stage.index else {
                throw BuildError(.stageCycle([self.stage.displayName, self.stage.displayName]))
            }
            return try await results.value(of: stage.index)
        }
        do {
            return try await engine.imageState(reference, lease: lease)
        } catch let error as BuildError {
            // A name that is no valid reference (`--from=Biuld_`) is most likely a mistyped stage.
            var pullFailure: String?
            if case .baseImageNotFound(_, let failure, _) = error.reason {
                pullFailure = failure
            } else if (try? Reference(parsing: reference)) != nil {
                throw error
            }
            throw BuildError(
                .unknownStage(
                    reference, suggestion: Suggestion.nearest(to: reference, among: plan.stages.compactMap(\.name)),
                    pullFailure: pullFailure))
        }
    }

    /// The owner `--chown` names, as BuildKit resolves it: a user name takes its uid and
    /// primary group from /etc/passwd, a numeric uid alone is also the gid, and a group given
    /// after `:` replaces the gid.
    static func chownOwner(_ value: String, database: UserDatabase) throws -> (uid: uid_t, gid: gid_t) {
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let userPart = parts.first, !userPart.isEmpty else {
            throw BuildError(.invalidValue("invalid --chown value \"\(value)\""))
        }
        var uid: uid_t
        var gid: gid_t
        if let number = UInt32(userPart) {
            uid = number
            gid = number
        } else if let entry = database.users.first(where: { $0.name == userPart }) {
            uid = entry.uid
            gid = entry.gid
        } else {
            throw BuildError(.invalidValue("unknown user \"\(userPart)\" in --chown: no such user in the image's /etc/passwd"))
        }
        if parts.count == 2 {
            let groupPart = parts[1]
            if let number = UInt32(groupPart) {
                gid = number
            } else if let entry = database.groups.first(where: { $0.name == groupPart }) {
                gid = entry.gid
            } else {
                throw BuildError(
                    .invalidValue("unknown group \"\(groupPart)\" in --chown: no such group in the image's /etc/group"))
            }
        }
        return (uid, gid)
    }
}
