/// Chain IDs: the identity of a stack of layers, which names unpacked snapshots.
///
/// The chain ID of the base layer is its diff ID; each later one is the sha256 of the previous
/// chain ID, a space, and the layer's diff ID, both written as `sha256:…` text.
public enum ChainID {
    /// The chain ID after each layer, in order.
    public static func chainIDs(for diffIDs: [Digest]) -> [Digest] {
        var result: [Digest] = []
        result.reserveCapacity(diffIDs.count)
        for diffID in diffIDs {
            guard let parent = result.last else {
                result.append(diffID)
                continue
            }
            result.append(.sha256(of: Array("\(parent) \(diffID)".utf8)))
        }
        return result
    }

    /// The chain ID of the whole stack, or nil for no layers.
    public static func chainID(for diffIDs: [Digest]) -> Digest? {
        chainIDs(for: diffIDs).last
    }
}
