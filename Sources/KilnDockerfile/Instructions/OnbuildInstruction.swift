/// `ONBUILD INSTRUCTION`: a trigger stored in the image and run when another build uses the
/// image as its base. ONBUILD, FROM and MAINTAINER cannot be triggers.
public struct OnbuildInstruction: Sendable, Hashable {
    /// The wrapped instruction, decoded and checked like any other. It is nil when invalid,
    /// because Docker accepts such a trigger and fails only in the build that runs it.
    public var trigger: Instruction?
    /// The trigger text as stored in the image config (`RUN make`), with heredoc content
    /// appended as BuildKit stores it.
    public var expression: String

    public init(trigger: Instruction?, expression: String) {
        self.trigger = trigger
        self.expression = expression
    }
}
