import KilnDiagnostics
import KilnDockerfile

/// `kiln parse`: prints the typed instructions kiln understood from a Dockerfile.
enum ParseCommand {
    static let json = BoolFlag("json", help: "Print the result as JSON with source locations")

    static let spec = CommandSpec(
        name: "parse",
        summary: "Show how kiln reads a Dockerfile",
        discussion: """
            Parses the Dockerfile and prints each instruction with its lines, flags and arguments as
            kiln decoded them. Arguments are shown as written: variables are expanded per build step.
            Parser warnings go to standard error (or into the JSON with --json).
            """,
        flags: [DockerfileInput.fileFlag.spec, json.spec],
        category: "Dockerfile Commands"
    ) { arguments, context in
        let (bytes, name) = try DockerfileInput.read(arguments, context: context)
        let dockerfile = try Dockerfile.parse(bytes, file: name)
        if arguments[json] {
            context.stdout.line(dockerfile.jsonDescription())
            return ExitStatus.success
        }
        context.stdout.write(ParseListing(dockerfile).text)
        for warning in dockerfile.warnings {
            context.stderr.line(warning.rendered())
        }
        return ExitStatus.success
    }
}
