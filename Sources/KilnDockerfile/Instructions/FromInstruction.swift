/// `FROM [--platform=PLATFORM] IMAGE [AS NAME]`: the start of a build stage.
public struct FromInstruction: Sendable, Hashable, Codable {
    /// The base image reference, an earlier stage's name, or `scratch`. Its variables are expanded
    /// with the global build arguments only, which are those declared before the first FROM.
    public var image: String
    /// The stage name in lower case, as Docker compares stage names.
    public var stageName: String?
    /// `--platform`, such as `linux/arm64` or `$BUILDPLATFORM`.
    public var platform: String?

    public init(image: String, stageName: String? = nil, platform: String? = nil) {
        self.image = image
        self.stageName = stageName
        self.platform = platform
    }
}
