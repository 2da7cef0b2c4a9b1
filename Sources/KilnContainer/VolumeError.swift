import Foundation
import KilnDiagnostics

/// Failures of the volume commands. The words follow the Docker CLI's messages, so scripts that
/// match them keep working.
public struct VolumeError: KilnError, Equatable {
    public enum Kind: Sendable, Equatable {
        /// No volume has this name.
        case notFound(String)
        /// A name that Docker's rules reject.
        case invalidName(String)
        /// `volume rm` of a volume that these containers mount.
        case inUse(String, containers: [String])
        /// A file system call on a volume's directory failed.
        case filesystem(operation: String, path: String, errno: Int32)
    }

    public var kind: Kind

    public init(_ kind: Kind) {
        self.kind = kind
    }

    public var diagnostic: Diagnostic {
        switch kind {
        case .notFound(let name):
            return .error("get \(escapedForDisplay(name)): no such volume", hint: "list volumes with `kiln volume ls`")
        case .invalidName(let name):
            return .error(
                "create \(escapedForDisplay(name)): \"\(escapedForDisplay(name))\" includes invalid characters for a "
                    + "local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed")
        case .inUse(let name, let containers):
            return .error(
                "remove \(name): volume is in use - [\(containers.joined(separator: ", "))]",
                hint: "remove those containers first with `kiln rm`")
        case .filesystem(let operation, let path, let code):
            return .error("\(operation): \(path): \(String(cString: strerror(code)))")
        }
    }
}
