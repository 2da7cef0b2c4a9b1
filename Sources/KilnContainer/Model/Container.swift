/// A container: its identity, its specification and its current state, as one value read
/// from the store.
public struct Container: Sendable, Equatable {
    /// 64 hex digits.
    public var id: String
    /// The name without Docker's leading slash.
    public var name: String
    public var status: ContainerStatus
    /// Unix time with fractions.
    public var created: Double
    public var specification: ContainerSpecification
    public var state: ContainerRuntimeState

    public init(
        id: String, name: String, status: ContainerStatus, created: Double, specification: ContainerSpecification,
        state: ContainerRuntimeState
    ) {
        self.id = id
        self.name = name
        self.status = status
        self.created = created
        self.specification = specification
        self.state = state
    }

    /// The first 12 hex digits, as lists show an ID.
    public var shortID: String { String(id.prefix(12)) }
}
