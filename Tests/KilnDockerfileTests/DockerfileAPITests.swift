import KilnDiagnostics
import Testing

@testable import KilnDockerfile

@Suite struct DockerfileAPITests {
    static let multiStage = """
        ARG BASE=alpine:3.20
        FROM $BASE AS build
        RUN make
        FROM scratch AS Final
        COPY --from=build /out /out
        """

    @Test func stagesAndGlobals() throws {
        let dockerfile = try Dockerfile.parse(Self.multiStage)
        #expect(dockerfile.globalArguments.map(\.range.line) == [1])
        let stages = dockerfile.stages
        #expect(stages.map(\.index) == [0, 1])
        #expect(stages.map(\.name) == ["build", "final"])
        #expect(stages.map(\.base.image) == ["$BASE", "scratch"])
        #expect(stages.map { $0.instructions.map(\.keyword) } == [[.run], [.copy]])
        #expect(dockerfile.stage(named: "FINAL")?.index == 1)
        #expect(dockerfile.stage(named: "0")?.name == "build")
        #expect(dockerfile.stage(named: "missing") == nil)
    }

    /// A 2 MB line of one word: the message quotes its first 160 characters and its length, and
    /// no instruction is suggested for it.
    @Test func longUnknownWordIsShortened() throws {
        let word = String(repeating: "a", count: 2_000_000)
        let error = #expect(throws: DockerfileError.self) { try Dockerfile.parse(word + "\n") }
        let message = try #require(error?.diagnostic.message)
        #expect(message == "unknown instruction \"\(word.prefix(160))…\" (2000000 characters)")
        let flag = #expect(throws: DockerfileError.self) {
            try Dockerfile.parse("FROM scratch\nRUN --\(word)=1 true\n")
        }
        #expect(flag?.diagnostic.message == "unknown flag --\(word.prefix(160))… (2000000 characters) for RUN")
    }

    @Test func runScriptForms() throws {
        let text = """
            FROM busybox
            RUN ["echo", "exec"]
            RUN echo shell
            RUN <<-EOF
            \techo script
            \tEOF
            RUN <<EOF
            #!/usr/bin/env python3
            print(1)
            EOF
            RUN python3 <<A > /out
            print(2)
            A
            """
        let scripts = try Dockerfile.parse(text).instructions.dropFirst().map(\.runScript)
        #expect(scripts[0] == .exec(["echo", "exec"]))
        #expect(scripts[1] == .shell("echo shell"))
        #expect(scripts[2] == .shell("echo script\n"))
        #expect(scripts[3] == .scriptFile(name: "EOF", content: "#!/usr/bin/env python3\nprint(1)\n"))
        #expect(scripts[4] == .shell("python3 <<A > /out\nprint(2)\nA"))
    }

    @Test func expansionErrorsCarryLocation() throws {
        let dockerfile = try Dockerfile.parse("FROM busybox\nWORKDIR ${DIR:?set DIR}\n")
        let workdir = try #require(dockerfile.instructions.last)
        #expect {
            try dockerfile.expanded(workdir, with: NoVariables())
        } throws: { error in
            guard let error = error as? DockerfileError else { return false }
            return error.range?.line == 2 && error.excerpt == ["WORKDIR ${DIR:?set DIR}"]
                && error.diagnostic.message == "failed to process \"${DIR:?set DIR}\": DIR: set DIR"
        }
    }

    @Test func bytesThatAreNotUTF8() throws {
        // RUN, COPY and ADD would run or name something else: an error at the line and column.
        for (instruction, column) in [("RUN echo \u{FF}", 10), ("COPY f\u{FF} /", 7), ("ADD a\u{C3} /", 6)] {
            var bytes = Array("FROM scratch\n".utf8)
            bytes += instruction.unicodeScalars.map { UInt8($0.value) } + [0x0A]
            #expect {
                try Dockerfile.parse(bytes)
            } throws: { error in
                guard let error = error as? DockerfileError, case .invalidUTF8(_, let found, _) = error.reason else { return false }
                return error.range?.line == 2 && found == column
            }
        }
        // Elsewhere the value goes into the config's JSON, as Docker's does: a warning.
        let label = Array("FROM scratch\nLABEL k=\"".utf8) + [0xE9] + Array("\"\n# caf\u{E9}\n".utf8)
        let parsed = try Dockerfile.parse(label)
        #expect(parsed.warnings.map(\.code) == ["InvalidUTF8"])
        #expect(parsed.warnings.first?.range?.line == 2)
        // Valid multi-byte text is untouched.
        #expect(try Dockerfile.parse("FROM scratch\nRUN echo café 日本 🚀\n").warnings.isEmpty)
    }

    @Test func errorRendersWithExcerptAndHint() {
        #expect {
            try Dockerfile.parse("FROM busybox\nCOPY app.py\n")
        } throws: { error in
            guard let error = error as? DockerfileError else { return false }
            return error.diagnostic.rendered() == """
                error: Dockerfile:2: COPY needs a source and a destination, got 1 argument
                 > 2 | COPY app.py
                hint: add the destination, for example `COPY app.py /app/`
                """
        }
    }

    @Test func unknownInstructionSuggestsNearest() {
        #expect(throws: DockerfileError(.unknownInstruction("RUNN", suggestion: "RUN"), at: SourceRange(file: "Dockerfile", line: 12), excerpt: ["RUNN make"])) {
            try Dockerfile.parse(String(repeating: "FROM busybox\n", count: 11) + "RUNN make\n")
        }
        let message = DockerfileError(.unknownInstruction("RUNN", suggestion: "RUN"), at: SourceRange(file: "Dockerfile", line: 12))
        #expect(message.description == "Dockerfile:12: unknown instruction \"RUNN\" (did you mean RUN?)")
    }

    @Test func warningsAreValuesNotOutput() throws {
        let dockerfile = try Dockerfile.parse("FROM busybox\nMAINTAINER me\nRUN a \\\n\n  b\n")
        #expect(dockerfile.warnings.map(\.code) == ["MaintainerDeprecated", "NoEmptyContinuation"])
        #expect(dockerfile.warnings.allSatisfy { $0.severity == .warning })
    }

    @Test func longOnbuildChainFailsWithoutRecursion() {
        let line = String(repeating: "ONBUILD ", count: 200_000) + "RUN true"
        #expect {
            try Dockerfile.parse("FROM busybox\n" + line + "\n")
        } throws: { error in
            guard let error = error as? DockerfileError else { return false }
            return error.reason == .onbuildChained && error.range?.line == 2
        }
    }

    @Test func originalTextIsTheLogicalLine() throws {
        let dockerfile = try Dockerfile.parse("FROM busybox\n  RUN echo a \\\n   # gone\n      b   \n")
        #expect(dockerfile.instructions[1].original == "RUN echo a       b")
        #expect(dockerfile.instructions[1].range.lines == 2...4)
    }
}
