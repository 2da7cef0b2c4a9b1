import Foundation
import KilnDiagnostics
import KilnDockerfile
import KilnImage
import KilnRuntime
import KilnSnapshot
import KilnStore
import KilnSystem

extension StageBuilder {
    /// RUN: the command in a container over the stage's filesystem; its changes become a layer.
    func runCommand(_ instruction: Instruction, _ run: RunInstruction, plugins: [PluginIdentity]) async throws -> Bool {
        if run.security == .insecure {
            throw BuildError(
                .unsupported("RUN --security=insecure (kiln grants no entitlement for privileged steps)"))
        }
        let network: NetworkMode
        switch run.network {
        case .some(.none): network = .none
        case .some(.host): network = .host
        case .some(.default), nil: network = options.network
        }
        let config = state.containerConfig
        let shell = config.shell ?? ["/bin/sh", "-c"]
        let workdir = Self.joinPath("/", config.workingDir ?? "/")
        let user = config.user ?? ""
        let (keyedEnvironment, proxyEnvironment) = runEnvironment()
        let environment = keyedEnvironment + proxyEnvironment

        var appended: [String] = []
        var stepPlugins = plugins
        if engine.hooks.handles(.step) {
            let result = try await engine.hooks.step(
                StepHookInput(
                    stage: stage.displayName, index: Int(currentStepID.split(separator: ".").last ?? "0") ?? 0,
                    instruction: BuildEngine.line(of: instruction),
                    environment: Dictionary(environment.map(EnvironmentList.split), uniquingKeysWith: { first, _ in first }),
                    user: user.isEmpty ? nil : user, workingDirectory: workdir))
            appended = result.appendedCommands
            stepPlugins += result.plugins
        }

        var arguments: [String]
        var script: (path: String, contents: [UInt8])?
        switch instruction.runScript ?? .shell("") {
        case .exec(let exec):
            guard appended.isEmpty else {
                throw BuildError(.unsupported("a plugin appending commands to an exec-form RUN"))
            }
            arguments = exec
        case .shell(let text):
            arguments = shell + [([text] + appended).joined(separator: "\n")]
        case .scriptFile(let name, let content):
            let path = "/dev/pipes/" + name
            script = (path, Array((([content] + appended).joined(separator: "\n")).utf8))
            arguments = [path]
        }

        let mounts = try RunMounts(builder: self, mounts: run.mounts.compactMap(\.mount), workdir: workdir)
        var builder = keyBuilder(kind: "run", instruction, used: [], plugins: stepPlugins)
        builder.add("arguments", arguments)
        builder.add("environment", keyedEnvironment)
        builder.add("user", user)
        builder.add("workdir", workdir)
        builder.add("network", "\(network)")
        let hostsLines = options.extraHosts.map { $0.hostsLine(network: network) }
        // A step that reads a mapped name may give another result with another address.
        if !hostsLines.isEmpty { builder.add("extra hosts", hostsLines) }
        builder.add("mounts", try await mounts.keyFields())
        if let script { builder.add("script", String(decoding: script.contents, as: UTF8.self)) }

        let history = HistoryText.run(arguments: arguments, buildArguments: historyArguments())
        let stepID = currentStepID
        let progress = engine.progress
        return try await cachedStep(key: builder.key, description: descriptionOf(instruction)) {
            let (_, layer) = try await withStepFilesystem(pruneCopiedDirectories: true) { filesystem in
                let root = try RootDirectory(path: FilePath(filesystem.rootPath))
                let processUser = try UserDatabase.load(rootfs: filesystem.rootPath).resolve(user)
                if try PathResolver(root: root.descriptor).existing(FilePath(workdir)) == nil {
                    try DirectoryMaker(root: root).make(FilePath(workdir))
                }
                let prepared = try await mounts.prepare()
                defer { prepared.release() }
                let bundle = try engine.store.makeScratchDirectory(lease: lease)
                defer { engine.snapshotter.removeQuietly(bundle) }

                // A heredoc script is bind-mounted from the bundle, as BuildKit mounts it under
                // /dev/pipes, so that it never lands in the rootfs.
                var requests = prepared.requests
                if let script {
                    let hostPath = bundle.path + "/script"
                    let file = try FileDescriptor.open(hostPath, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o555)
                    try file.write(script.contents)
                    try file.setPermissions(0o555)
                    try file.close()
                    requests.append(.bind(source: hostPath, destination: script.path, readOnly: true))
                }
                var configuration = ContainerConfiguration(
                    rootfs: filesystem.rootPath, args: arguments, env: environment + prepared.environment, cwd: workdir,
                    user: processUser, mounts: requests, network: network, extraFiles: prepared.files)
                configuration.hostname = "kiln"
                configuration.extraHosts = hostsLines
                let runner = try engine.runtime.containerRunner()
                try Task.checkCancellation()
                let exit = try await runner.run(
                    configuration, id: "kiln-build-" + String(bundle.id.prefix(16)),
                    bundle: BundleLayout(directory: bundle.path),
                    io: .stream(tailLines: 12) { stream, bytes in
                        progress.report(.stepOutput(id: stepID, stream: stream, bytes: bytes))
                    })
                // A container killed because the build was cancelled is not the step's failure.
                try Task.checkCancellation()
                switch exit.status {
                case .exited(0): break
                case .exited(let code): throw BuildError(.commandFailed(status: code, output: exit.outputTail))
                case .signaled(let signal): throw BuildError(.commandKilled(signal: signal, output: exit.outputTail))
                }
            }
            return StepProduct(history: history, layer: layer)
        }
    }

    /// The environment of a RUN step in two parts. `keyed` is the image's environment in order,
    /// then the build arguments in scope that ENV did not set. `proxies` contains the proxy
    /// variables given with `--build-arg` that no ARG or ENV of the stage set. The step sees
    /// both, but only `keyed` enters the cache key, so that a new proxy reruns nothing, as in
    /// Docker.
    func runEnvironment() -> (keyed: [String], proxies: [String]) {
        var environment = state.containerConfig.env ?? []
        var names = Set(environment.map { EnvironmentList.split($0).0 })
        for entry in scope.runEnvironment {
            let (name, _) = EnvironmentList.split(entry)
            guard !names.contains(name) else { continue }
            names.insert(name)
            environment.append(entry)
        }
        var proxies: [String] = []
        for name in BuildEngine.proxyArguments.sorted() where !names.contains(name) {
            if let value = options.buildArguments[name] { proxies.append("\(name)=\(value)") }
        }
        return (environment, proxies)
    }

    /// The build arguments RUN's history lists (`|2 A=1 B=2`): those declared in this stage
    /// with a value, in the order they were declared. A proxy variable is listed only when an
    /// ARG declares it, as Docker lists it.
    func historyArguments() -> [(String, String)] {
        var seen: Set<String> = []
        var result: [(String, String)] = []
        for name in declaredArguments where seen.insert(name).inserted {
            guard let value = scope.value(of: name) else { continue }
            result.append((name, value))
        }
        return result
    }
}

extension EnvironmentList {
    /// `NAME=value` split at the first `=`.
    static func split(_ entry: String) -> (String, String) {
        guard let equals = entry.firstIndex(of: "=") else { return (entry, "") }
        return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
    }
}
