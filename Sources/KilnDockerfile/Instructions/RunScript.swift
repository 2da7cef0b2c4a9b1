/// What a RUN step executes once its heredocs are taken into account, as BuildKit decides it.
public enum RunScript: Sendable, Hashable {
    /// Exec form: these arguments, without a shell.
    case exec([String])
    /// Text for the stage's shell (`SHELL`, by default `/bin/sh -c`).
    case shell(String)
    /// `RUN <<EOF` whose content starts with `#!`: write `content` to an executable file named
    /// `name` (BuildKit mounts it read-only under `/dev/pipes/`) and give the shell that path.
    case scriptFile(name: String, content: String)
}

extension Instruction {
    /// For RUN, what the step executes:
    ///
    /// - `RUN <<EOF` alone runs the heredoc's content as the shell command, or as a script file
    ///   when it starts with `#!`. Leading tabs are removed first for `<<-`.
    /// - A command with heredocs (`RUN python3 <<EOF`) goes to the shell with each heredoc's
    ///   lines and delimiter appended, so the shell reads them as here-documents.
    /// - Anything else is the command as written.
    ///
    /// Nil for other instructions.
    public var runScript: RunScript? {
        guard case .run(let run) = body else { return nil }
        switch run.command {
        case .exec(let arguments):
            return .exec(arguments)
        case .shell(let text):
            guard let first = heredocs.first else { return .shell(text) }
            if HeredocMarker(word: text) != nil {
                let content = first.effectiveContent
                return content.hasPrefix("#!") ? .scriptFile(name: first.name, content: content) : .shell(content)
            }
            var full = text
            for heredoc in heredocs {
                full += "\n" + heredoc.content + heredoc.name
            }
            return .shell(full)
        }
    }
}
