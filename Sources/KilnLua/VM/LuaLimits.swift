/// The limits one VM runs under. Exceeding any of them stops the plugin, never kiln.
public struct LuaLimits: Sendable, Hashable {
    /// Bytes the VM may allocate in total, including the interpreter's own structures.
    public var memoryBytes: Int
    /// VM instructions one call from kiln into the plugin may execute, counting every coroutine.
    public var instructions: Int64
    /// Wall-clock time one call may take, including time inside C and host functions, where the
    /// instruction count does not advance.
    public var wallClock: Duration
    /// Limits on values that kiln reads back from the plugin.
    public var results: ResultLimits

    public init(
        memoryBytes: Int = 64 << 20,
        instructions: Int64 = 200_000_000,
        wallClock: Duration = .seconds(2),
        results: ResultLimits = ResultLimits()
    ) {
        self.memoryBytes = memoryBytes
        self.instructions = instructions
        self.wallClock = wallClock
        self.results = results
    }

    /// The defaults: 64 MiB, 200 million instructions (roughly a second of CPU) and 2 seconds.
    public static let standard = LuaLimits()
}

/// Bounds on a value read out of a VM, so that a hostile result cannot exhaust kiln.
public struct ResultLimits: Sendable, Hashable {
    /// Table entries in the whole value, counted across nested tables.
    public var entries: Int
    /// Nesting depth of tables.
    public var depth: Int
    /// Bytes in one string.
    public var stringBytes: Int

    public init(entries: Int = 100_000, depth: Int = 32, stringBytes: Int = 16 << 20) {
        self.entries = entries
        self.depth = depth
        self.stringBytes = stringBytes
    }
}
