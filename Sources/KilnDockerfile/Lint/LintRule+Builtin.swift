extension LintRule {
    /// The rules kiln ships: package lists left in a layer, `cd` where WORKDIR fits, ADD where
    /// COPY fits, unpinned base images, and shell-form CMD and ENTRYPOINT.
    public static let builtin: [LintRule] = [aptLists, cdWorkdir, addCopy, baseTag, shellFormCommand]

    public static let aptLists = LintRule(
        id: "apt-lists",
        message: "apt-get install without removing /var/lib/apt/lists in the same RUN keeps the package lists in the layer; end the RUN with `&& rm -rf /var/lib/apt/lists/*`"
    ) { subject in
        guard case .run(let run) = subject.instruction.body else { return false }
        let script = LintText.script(of: run, heredocs: subject.instruction.heredocs)
        guard LintText.containsAptInstall(script) else { return false }
        if script.contains("/var/lib/apt/lists") { return false }
        // A cache mount over the lists keeps them out of the layer anyway.
        return !run.mounts.contains { flag in
            guard let mount = flag.mount, mount.type == .cache, let target = mount.target else { return false }
            return target.hasPrefix("/var/lib/apt")
        }
    }

    public static let cdWorkdir = LintRule(
        id: "cd-workdir",
        message: "RUN starts with cd; set the directory with WORKDIR and keep RUN for the commands"
    ) { subject in
        guard case .run(let run) = subject.instruction.body, case .shell(let text) = run.command else { return false }
        return LintText.startsWithChangeDirectory(text)
    }

    public static let addCopy = LintRule(
        id: "add-copy",
        message: "ADD copies local files here; use COPY, which does not unpack archives or fetch URLs"
    ) { subject in
        guard case .add(let add) = subject.instruction.body else { return false }
        guard add.checksum == nil, !add.keepGitDir, add.unpack == nil else { return false }
        return add.sources.allSatisfy { source in
            guard case .path(let path) = source else { return true }
            // A variable or wildcard may name an archive or a URL, so only plain paths count.
            let isPlain = !path.includes("$") && !path.includes("*") && !path.includes("?")
            return isPlain && !LintText.isRemote(path) && !LintText.isArchive(path)
        }
    }

    public static let baseTag = LintRule(
        id: "base-tag",
        message: "the base image has no tag or uses latest; pin a version so that rebuilds use the same base"
    ) { subject in
        guard case .from(let from) = subject.instruction.body, let stage = subject.stage else { return false }
        var image = from.image
        if image.includes("$") {
            // Resolve with the global ARG defaults; an image that still has variables is unknown.
            let defaults = LintText.globalDefaults(subject.dockerfile)
            guard let expanded = try? subject.dockerfile.expander.expandWord(image, with: defaults),
                !expanded.isEmpty, !expanded.includes("$")
            else { return false }
            image = expanded
        }
        let earlierStages = subject.dockerfile.stages.prefix(stage.index).compactMap(\.name)
        if image.lowercased() == "scratch" || earlierStages.contains(image.lowercased()) { return false }
        return LintText.isUnpinned(image)
    }

    public static let shellFormCommand = LintRule(
        id: "shell-form-cmd",
        message: "shell-form CMD or ENTRYPOINT runs under /bin/sh -c, which does not pass signals on; use exec form [\"executable\", \"argument\"]"
    ) { subject in
        switch subject.instruction.body {
        case .cmd(let cmd): return cmd.command.isShellForm && cmd.command != .shell("")
        case .entrypoint(let entrypoint): return entrypoint.command.isShellForm && entrypoint.command != .shell("")
        default: return false
        }
    }
}
