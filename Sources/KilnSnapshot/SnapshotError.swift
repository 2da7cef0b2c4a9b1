import Glibc
import KilnDiagnostics
import KilnImage
import KilnSystem

/// Errors of unpacking layers into snapshots and of mounting them.
public enum SnapshotError: KilnError, Equatable {
    /// An overlay mount failed; `lowerCount` says how deep the chain was.
    case mountFailed(target: String, lowerCount: Int, errno: Int32)
    /// The chain has more layers than one overlay mount can stack.
    case chainTooDeep(layers: Int, maximum: Int)
    /// A snapshot that a chain needs is missing from the store (removed by hand, or never unpacked).
    case missingSnapshot(Digest)
    /// Unmounting a step's or container's overlay failed.
    case unmountFailed(target: String, errno: Int32)
    /// The copying fallback met something it cannot copy or compare.
    case copyFailed(path: String, reason: String)

    public var diagnostic: Diagnostic {
        switch self {
        case .mountFailed(let target, let lowerCount, let code):
            return .error(
                "mounting an overlay of \(lowerCount) layers at \(target) failed: \(String(cString: strerror(code)))",
                hint: "kiln needs root and a kernel with overlayfs; set KILN_SNAPSHOTTER=copy to copy files instead")
        case .chainTooDeep(let layers, let maximum):
            return .error(
                "the image has \(layers) layers, more than the \(maximum) that one overlay mount can stack",
                hint: "merge the RUN, COPY, ADD and WORKDIR instructions that made them, or squash the base image into fewer layers")
        case .missingSnapshot(let chainID):
            return .error(
                "snapshot \(chainID) is missing from the store",
                hint: "run `kiln store verify`; removing the image and pulling or loading it again restores it")
        case .unmountFailed(let target, let code):
            return .error("unmounting \(target) failed: \(String(cString: strerror(code)))")
        case .copyFailed(let path, let reason):
            return .error("copying \(escapedForDisplay(path)) for a step failed: \(reason)")
        }
    }
}
