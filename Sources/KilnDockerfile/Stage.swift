/// A build stage: a FROM instruction and the instructions up to the next FROM.
public struct Stage: Sendable, Hashable {
    /// The stage's position, from 0, which `COPY --from=0` refers to.
    public var index: Int
    /// The FROM instruction that starts the stage.
    public var from: Instruction
    /// The instructions after FROM, in order.
    public var instructions: [Instruction]

    public init(index: Int, from: Instruction, instructions: [Instruction]) {
        self.index = index
        self.from = from
        self.instructions = instructions
    }

    /// The decoded FROM.
    public var base: FromInstruction {
        guard case .from(let from) = from.body else { return FromInstruction(image: "") }
        return from
    }

    /// The stage's name in lower case, if it has one.
    public var name: String? { base.stageName }
}
