/// `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=...] CMD command`.
public struct HealthcheckInstruction: Sendable, Hashable, Codable {
    public enum Test: Sendable, Hashable, Codable {
        /// `HEALTHCHECK NONE`: disable any check inherited from the base image.
        case none
        /// `HEALTHCHECK CMD`: shell form becomes `CMD-SHELL` in the image config.
        case command(CommandForm)
    }

    public var test: Test
    public var interval: GoDuration?
    public var timeout: GoDuration?
    public var startPeriod: GoDuration?
    public var startInterval: GoDuration?
    public var retries: Int?

    public init(
        test: Test, interval: GoDuration? = nil, timeout: GoDuration? = nil, startPeriod: GoDuration? = nil,
        startInterval: GoDuration? = nil, retries: Int? = nil
    ) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.startPeriod = startPeriod
        self.startInterval = startInterval
        self.retries = retries
    }

    /// The `Healthcheck.Test` array of the image config: `["NONE"]`, `["CMD", ...]` or
    /// `["CMD-SHELL", "command"]`.
    public var configTest: [String] {
        switch test {
        case .none: ["NONE"]
        case .command(.exec(let arguments)): ["CMD"] + arguments
        case .command(.shell(let text)): ["CMD-SHELL", text]
        }
    }
}
