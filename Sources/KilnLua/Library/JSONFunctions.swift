/// `kiln.json.encode` and `kiln.json.decode`.
enum JSONFunctions {
    static func encode(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let value = try call.valueArgument(1, "value")
        let text: [UInt8]
        do {
            text = try JSONCodec.encode(value)
        } catch {
            throw .message("kiln.json.encode: \(error.message)")
        }
        try call.reserveMemory(text.count)
        call.pushBytes(text)
        return 1
    }

    static func decode(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let text = try call.stringArgument(1, "text")
        let limit = call.vm.limits.results.stringBytes
        guard text.count <= limit else {
            throw .message("kiln.json.decode: the text has \(text.count) bytes, over the limit of \(limit) bytes")
        }
        let value: LuaValue
        do {
            value = try JSONCodec.decode(text)
        } catch {
            throw .message("kiln.json.decode: invalid JSON: \(error.message)")
        }
        return try call.push(value)
    }
}

/// `kiln.semver.parse`, `compare`, `bump` and `valid`.
enum SemverFunctions {
    static var functions: [(String, (HostCall) throws(HostFunctionError) -> Int32)] {
        [("parse", parse), ("compare", compare), ("bump", bump), ("valid", valid)]
    }

    private static func version(_ call: HostCall, _ index: Int32, _ name: String) throws(HostFunctionError) -> SemanticVersion {
        let value = try call.valueArgument(index, name)
        if let text = value.stringValue {
            guard let version = SemanticVersion(text) else {
                throw .message("\(call.function): invalid version \"\(text)\"")
            }
            return version
        }
        if let table = value.tableValue, let major = table["major"].integerValue, let minor = table["minor"].integerValue,
            let patch = table["patch"].integerValue
        {
            let prerelease = table["prerelease"].stringValue.map { $0.split(separator: ".").map(String.init) } ?? []
            let build = table["build"].stringValue.map { $0.split(separator: ".").map(String.init) } ?? []
            return SemanticVersion(major: major, minor: minor, patch: patch, prerelease: prerelease, build: build)
        }
        throw call.argumentError(index, name, expected: "version string or table from kiln.semver.parse")
    }

    private static func parse(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let version = try version(call, 1, "version")
        var table = LuaTable()
        table["major"] = .integer(version.major)
        table["minor"] = .integer(version.minor)
        table["patch"] = .integer(version.patch)
        if !version.prerelease.isEmpty { table["prerelease"] = .text(version.prerelease.joined(separator: ".")) }
        if !version.build.isEmpty { table["build"] = .text(version.build.joined(separator: ".")) }
        table["text"] = .text(version.description)
        return try call.push(.table(table))
    }

    private static func compare(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let left = try version(call, 1, "a")
        let right = try version(call, 2, "b")
        return try call.push(.integer(Int64(SemanticVersion.compare(left, right))))
    }

    private static func bump(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let version = try version(call, 1, "version")
        let partName = try call.textArgument(2, "part")
        guard let part = SemanticVersion.Part(rawValue: partName) else {
            throw .message("kiln.semver.bump: invalid part \"\(partName)\" (expected \"major\", \"minor\" or \"patch\")")
        }
        return try call.push(.text(version.bumped(part).description))
    }

    private static func valid(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        guard let bytes = call.bytes(1), let text = String(validating: bytes, as: UTF8.self) else {
            return try call.push(.boolean(false))
        }
        return try call.push(.boolean(SemanticVersion(text) != nil))
    }
}

/// `kiln.context.read(path)`: a file of the build context, for plugins granted `context.read`.
enum ContextFunctions {
    /// Bytes one read may return.
    static let maximumFileBytes = 8 << 20

    static func read(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let vm = call.vm
        let path = try call.stringArgument(1, "path")
        try vm.services.require(.contextRead, for: "kiln.context.read", plugin: vm.pluginName)
        guard let root = vm.services.contextRoot else {
            throw .message("kiln.context.read: no build context is available to this hook")
        }
        do {
            let relative = try SandboxFiles.relativePath(path)
            let bytes = try SandboxFiles.read(root: root, relativePath: relative, maximumBytes: maximumFileBytes)
            // An expansion's steps depend on what it read, so the digest enters their cache keys.
            vm.recorder.contextReads[relative] = PluginDigest.sha256(bytes)
            call.pushBytes(bytes)
            return 1
        } catch {
            throw .message("kiln.context.read: \(error.describe(path: path, place: "the build context"))")
        }
    }
}

/// `require`'s file access: the module's source from the plugin's own folder.
enum ModuleLoader {
    static let maximumModuleBytes = 1 << 20

    static func readModule(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let vm = call.vm
        let name = try call.textArgument(1, "name")
        let segments = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !segments.isEmpty, segments.allSatisfy({ segment in
            !segment.isEmpty && segment.utf8.allSatisfy { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || $0 >= 0x30 && $0 <= 0x39 || $0 == 0x5F || $0 == 0x2D }
        }) else {
            throw .message("require: invalid module name \"\(name)\" (use names like \"helpers\" or \"lib.semver\")")
        }
        guard let root = vm.services.moduleRoot else {
            throw .message(
                "require: module '\(name)' not found: a single-file plugin cannot load modules; "
                    + "make the plugin a folder with init.lua and put the module beside it")
        }
        let base = segments.joined(separator: "/")
        for candidate in [base + ".lua", base + "/init.lua"] {
            do {
                let bytes = try SandboxFiles.read(root: root, relativePath: candidate, maximumBytes: maximumModuleBytes)
                if bytes.first == 0x1B {
                    throw HostFunctionError.message("require: module '\(name)': binary chunks are not allowed in kiln plugins")
                }
                let chunkName = vm.services.moduleDisplayRoot.map { "\($0)/\(candidate)" } ?? candidate
                call.pushBytes(bytes)
                try call.push(.text(chunkName))
                return 2
            } catch let error as SandboxFiles.Failure {
                // A link that leads outside the folder does not stop the search, as for a
                // missing file, so `require` still tries `NAME/init.lua`.
                switch error {
                case .notFound, .outsideRoot: continue
                default: break
                }
                throw .message("require: module '\(name)': \(error.describe(path: Array(candidate.utf8), place: "the plugin folder"))")
            } catch let error as HostFunctionError {
                throw error
            } catch {
                continue
            }
        }
        throw .message("require: module '\(name)' not found in the plugin folder (looked for \(base).lua and \(base)/init.lua)")
    }
}
