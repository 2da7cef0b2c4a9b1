import Foundation
import KilnDiagnostics
import Testing

@testable import KilnDockerfile

/// Every folder in `Fixtures/expand` holds a `Dockerfile`, optional `build-args` (`NAME=value`
/// lines), and `expected.json`: each instruction after expansion with the variables in scope at
/// its step, the names it referred to, and the stage's variables at the end. This walks the file
/// as the build engine will, with `VariableScope` and `Instruction.expanded(with:)`.
@Suite struct ExpandGoldenTests {
    @Test(arguments: Golden.cases("expand"))
    func expandCase(_ name: String) throws {
        let bytes = try #require(Golden.read("expand", name, "Dockerfile"), "\(name) has no Dockerfile")
        let buildArguments = Self.buildArguments(Golden.read("expand", name, "build-args") ?? [])
        Golden.check(Self.render(bytes, buildArguments: buildArguments), suite: "expand", name: name, file: "expected.json")
    }

    static func buildArguments(_ bytes: [UInt8]) -> [String: String] {
        var values: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let (name, value) = EnvironmentList.split(String(line))
            values[name] = value
        }
        return values
    }

    static func render(_ bytes: [UInt8], buildArguments: [String: String]) -> String {
        let dockerfile: Dockerfile
        do {
            dockerfile = try Dockerfile.parse(bytes, file: "Dockerfile")
        } catch {
            return Dockerfile.prettyJSON(ErrorJSON(error))
        }
        var scope = VariableScope(buildArguments: buildArguments, automaticArguments: ["TARGETARCH": "amd64"])
        var steps: [Step] = []
        var inStage = false
        for instruction in dockerfile.instructions {
            do {
                switch instruction.body {
                case .arg(let arg) where !inStage:
                    try scope.declareGlobal(arg.declarations, expander: dockerfile.expander)
                    steps.append(Step(line: instruction.range.line, globals: scope.globals))
                case .from:
                    let expansion = try dockerfile.expanded(instruction, with: scope.globals)
                    steps.append(Step(line: instruction.range.line, expansion: expansion))
                    scope.enterStage(environment: ["PATH=/usr/bin:/bin"])
                    inStage = true
                default:
                    let expansion = try dockerfile.expanded(instruction, with: scope)
                    try scope.apply(expansion.instruction, expander: dockerfile.expander)
                    var step = Step(line: instruction.range.line, expansion: expansion)
                    if instruction.keyword == .run { step.runEnvironment = scope.runEnvironment }
                    steps.append(step)
                }
            } catch {
                steps.append(Step(line: instruction.range.line, error: error.diagnostic.locatedMessage))
            }
        }
        let result = Result(
            steps: steps, environment: scope.environment,
            arguments: scope.arguments.map { Result.Argument(name: $0.name, value: $0.value) })
        return Dockerfile.prettyJSON(result)
    }

    struct Step: Encodable {
        var line: Int
        var expansion: Instruction.Expansion?
        var globals: [String: String]?
        var runEnvironment: [String]?
        var error: String?

        private enum CodingKeys: String, CodingKey {
            case line, expanded, referencedNames, globals, runEnvironment, error
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(line, forKey: .line)
            if let expansion {
                try container.encode(expansion.instruction, forKey: .expanded)
                try container.encode(expansion.referencedNames.sorted(), forKey: .referencedNames)
            }
            try container.encodeIfPresent(globals, forKey: .globals)
            try container.encodeIfPresent(runEnvironment, forKey: .runEnvironment)
            try container.encodeIfPresent(error, forKey: .error)
        }
    }

    struct Result: Encodable {
        struct Argument: Encodable {
            var name: String
            var value: String?
        }

        var steps: [Step]
        var environment: [String: String]
        var arguments: [Argument]
    }
}
