import KilnDockerfile

/// Parses the input as a Dockerfile and, when it parses, renders it, lints it and expands every
/// instruction the way the build engine walks a file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDockerfile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let dockerfile = try? Dockerfile.parse(bytes, file: "Dockerfile") else { return 0 }

    _ = dockerfile.jsonDescription()
    _ = Linter.findings(in: dockerfile)
    for instruction in dockerfile.instructions {
        precondition(instruction.range.line >= 1 && instruction.range.endLine <= dockerfile.source.lineCount)
        _ = instruction.runScript
    }

    var scope = VariableScope(buildArguments: ["A": "1", "B": "two words"], automaticArguments: ["TARGETARCH": "amd64"])
    var inStage = false
    for instruction in dockerfile.instructions {
        switch instruction.body {
        case .arg(let arg) where !inStage:
            try? scope.declareGlobal(arg.declarations, expander: dockerfile.expander)
        case .from:
            _ = try? dockerfile.expanded(instruction, with: scope.globals)
            scope.enterStage(environment: ["PATH=/usr/bin:/bin", "HOME=/root"])
            inStage = true
        default:
            guard let expansion = try? dockerfile.expanded(instruction, with: scope) else { continue }
            try? scope.apply(expansion.instruction, expander: dockerfile.expander)
            _ = scope.runEnvironment
        }
    }
    return 0
}
