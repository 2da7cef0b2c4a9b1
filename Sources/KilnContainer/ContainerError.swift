import Foundation
import KilnDiagnostics

/// Every failure of container management: names, lookups, states, options and monitors.
///
/// The cases store data, and `diagnostic` is the one place that turns them into words. The words
/// follow the Docker CLI's messages, so scripts that match them keep working.
public struct ContainerError: KilnError, Equatable {
    public enum Kind: Sendable, Equatable {
        /// No container has this ID, ID prefix or name.
        case notFound(String)
        /// An ID prefix matches more than one container.
        case ambiguous(String, count: Int)
        /// `--name` names a container that exists.
        case nameInUse(name: String, container: String)
        /// A name that Docker's rules reject.
        case invalidName(String)
        /// The operation needs a running container.
        case notRunning(String)
        /// `pause` of a container that is paused already.
        case alreadyPaused(String)
        /// `unpause` of a container that is not paused.
        case notPaused(String)
        /// An operation that a paused container cannot do (`exec`, `start`).
        case paused(String, operation: String)
        /// An operation that needs the container running while it waits to restart.
        case restarting(String)
        /// `rm` of a running container without `-f`.
        case removeRunning(String)
        /// `start` of a container that already runs is fine; this is for operations that need it stopped.
        case running(String, operation: String)
        /// The image config or the command line gives no command to run.
        case noCommand
        /// An image config value that kiln does not accept, with the field it came from.
        case invalidImageConfig(field: String, value: String, reason: String)
        /// A command-line value that kiln does not accept, with its flag.
        case invalidOption(flag: String, value: String, reason: String)
        /// Two flags that cannot be combined, such as `--restart` and `--rm`.
        case conflictingOptions(String, String)
        /// A port that `kiln port` was asked about is not published.
        case portNotPublished(port: String, container: String)
        /// The background monitor reported that the container could not start; the message is
        /// the monitor's rendered diagnostic.
        case startFailed(message: String, hint: String?, exitStatus: Int32)
        /// The background monitor could not be started or ended without reporting.
        case monitorFailed(String)
        /// Mounting or unmounting the container's filesystem failed.
        case filesystem(operation: String, path: String, errno: Int32)
        /// `kiln top`'s `ps` failed with the user's `arguments`: the first line of its standard
        /// error, and whether it only found no process (`f` alone, without the `-q` list).
        case psFailed(arguments: [String], reason: String, selectedNothing: Bool)
        /// Something kiln does not support, in words.
        case unsupported(String)
        /// The image record was deleted (`kiln rmi`, `image prune`) after `run` or `create`
        /// looked it up and before the container record was written: the image as the user
        /// named it, and its image ID.
        case imageRemoved(image: String, id: String)
    }

    public var kind: Kind

    public init(_ kind: Kind) {
        self.kind = kind
    }

    public var exitStatus: Int32 {
        switch kind {
        case .startFailed(_, _, let status): return status
        case .invalidOption, .conflictingOptions, .imageRemoved: return ExitStatus.usage
        default: return ExitStatus.failure
        }
    }

    public var diagnostic: Diagnostic {
        switch kind {
        case .notFound(let name):
            return .error("No such container: \(name)")
        case .ambiguous(let prefix, let count):
            return .error(
                "multiple IDs found with provided prefix: \(prefix) (\(count) containers)",
                hint: "type more digits of the container ID, or use its name")
        case .nameInUse(let name, let container):
            return .error(
                "Conflict. The container name \"/\(name)\" is already in use by container \"\(container)\". "
                    + "You have to remove (or rename) that container to be able to reuse that name.")
        case .invalidName(let name):
            let length = name.utf8.count
            if length > 255 {
                return .error(
                    "Invalid container name (\(name.prefix(40))...): it has \(length) bytes, and a name has at most 255")
            }
            return .error("Invalid container name (\(name)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        case .notRunning(let name):
            return .error("container \(name) is not running")
        case .alreadyPaused(let name):
            return .error("Container \(name) is already paused")
        case .notPaused(let name):
            return .error("Container \(name) is not paused", hint: "only a container paused with `kiln pause` can be unpaused")
        case .paused(let name, let operation):
            return .error(
                "Container \(name) is paused, unpause the container before \(operation)", hint: "run `kiln unpause \(name)` first")
        case .restarting(let name):
            return .error("Container \(name) is restarting, wait until the container is running")
        case .removeRunning(let name):
            return .error(
                "cannot remove container \"/\(name)\": container is running: stop the container before removing or force remove",
                hint: "run `kiln stop \(name)` first, or remove it with `kiln rm -f \(name)`")
        case .running(let name, let operation):
            return .error("cannot \(operation) container \(name): it is running", hint: "stop it first with `kiln stop \(name)`")
        case .noCommand:
            return .error(
                "No command specified",
                hint: "give a command after the image name, or use an image with an ENTRYPOINT or CMD")
        case .invalidImageConfig(let field, let value, let reason):
            return .error("invalid image config \(field) \"\(escapedForDisplay(value))\": \(reason)")
        case .invalidOption(let flag, let value, let reason):
            return .error("invalid argument \"\(escapedForDisplay(value))\" for \"\(flag)\" flag: \(reason)")
        case .conflictingOptions(let first, let second):
            return .error("Conflicting options: \(first) and \(second)")
        case .portNotPublished(let port, let container):
            return .error("No public port '\(port)' published for \(container)")
        case .startFailed(let message, let hint, _):
            return .error(message, hint: hint)
        case .monitorFailed(let detail):
            return .error("the container monitor failed: \(detail)")
        case .filesystem(let operation, let path, let code):
            return .error("\(operation) \(path) failed: \(String(cString: strerror(code)))")
        case .psFailed(let arguments, let reason, let selectedNothing):
            let command = escapedForDisplay((["ps"] + arguments).joined(separator: " "))
            let hint =
                selectedNothing
                ? "without the list of the container's process IDs, `\(command)` selected no process; add options that select every process, such as ax, as in `kiln top CONTAINER ax \(escapedForDisplay(arguments.joined(separator: " ")))`"
                : "kiln top passes the options after the container name to the host's ps; see `ps --help all`"
            return .error("\(command) failed: \(escapedForDisplay(reason))", hint: hint)
        case .unsupported(let what):
            return .error(what)
        case .imageRemoved(let image, let id):
            return .error(
                "image \(escapedForDisplay(image)) (\(id)) was removed while the container was being created",
                hint: "pull, load or build the image again, then run the command again")
        }
    }
}

/// `text` with control characters escaped and cut to 200 characters, for quoting untrusted
/// values (image config fields, labels) in a message.
func escapedForDisplay(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars.prefix(200) {
        if scalar.value < 0x20 || scalar.value == 0x7f {
            result += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
            result.unicodeScalars.append(scalar)
        }
    }
    if text.unicodeScalars.count > 200 { result += "…" }
    return result
}
