/// A custom instruction and the built-in instructions a plugin expanded it into.
///
/// The expansion becomes ordinary steps. Each keeps `original` for its history entry, and has
/// `plugin` and `inputs` in its cache key.
public struct InstructionExpansion: Sendable, Hashable {
    public var original: InstructionLine
    public var lines: [InstructionLine]
    public var plugin: PluginIdentity
    /// What else the expansion depends on, as `PATH sha256:<hex>` lines: the build-context files
    /// the plugin read while expanding (an `INCLUDE`d fragment).
    public var inputs: [String]

    public init(original: InstructionLine, lines: [InstructionLine], plugin: PluginIdentity, inputs: [String] = []) {
        self.original = original
        self.lines = lines
        self.plugin = plugin
        self.inputs = inputs
    }
}
