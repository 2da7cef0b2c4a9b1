import KilnBuild
import KilnDiagnostics
import KilnDockerfile

/// What a build script declared while it ran: its stages and their steps, in order.
final class BuildScript {
    struct Stage {
        /// The stage name in lower case, from `{ as = "name" }` or given when another stage
        /// refers to it.
        var name: String?
        /// An image reference, an earlier stage's name, or `scratch`.
        var base: String
        var platform: String?
        var location: SourceLocation
        var steps: [Step] = []
    }

    enum Step {
        /// A step the script's methods built, complete.
        case instruction(Instruction)
        /// A Dockerfile line from `stage:instruction(...)`, decoded (and expanded, for a custom
        /// instruction) once the script has finished.
        case line(InstructionLine)
    }

    /// The script's file name in locations (`build.lua`).
    let file: String
    var stages: [Stage] = []

    init(file: String) {
        self.file = file
    }

    /// Returns the name a stage is referred to by, naming it `stage-N` when it has none.
    func referenceName(ofStage index: Int) -> String {
        if let name = stages[index].name { return name }
        var name = "stage-\(index)"
        while stages.contains(where: { $0.name == name }) { name += "-\(index)" }
        stages[index].name = name
        return name
    }
}
