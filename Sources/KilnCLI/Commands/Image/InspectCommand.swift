import Foundation
import KilnContainer
import KilnDiagnostics
import KilnStore

/// `kiln inspect`: low-level information on objects by name or ID, as `docker inspect` prints
/// it. Containers are looked up first, then images, unless `--type` names the kind.
enum InspectCommand {
    static let format = ValueFlag(
        "format", short: "f", placeholder: "string",
        help: "Format output using a custom template ('json' or a Go template)")
    static let type = ValueFlag(
        "type", placeholder: "string", help: "Return JSON for specified type (\"container\" or \"image\")")
    static let size = BoolFlag("size", short: "s", help: "Display total file sizes if the type is container")

    static let spec = CommandSpec(
        name: "inspect", summary: "Return low-level information on images and containers",
        usage: "[OPTIONS] NAME|ID [NAME|ID...]",
        flags: [format.spec, size.spec, type.spec], arity: .atLeast(1)
    ) { arguments, context in
        let kind = arguments[type]
        if let kind, kind != "image" && kind != "container" {
            throw UsageError(
                command: arguments.commandName,
                reason: .invalidValue(flag: "--type", value: kind, reason: "expected container or image"))
        }
        if kind != "image" {
            // Containers whose monitor died are brought up to date first, as `kiln ps` does. A
            // store that cannot be written (a read-only file system) is inspected as it is.
            do {
                let manager = try ContainerSupport.manager(context, access: .recordingState)
                for name in arguments.positionals {
                    if let container = try? manager.repository.find(name) { _ = await manager.reconcile(container) }
                }
            } catch {
                context.logger.debug("not updating container states before inspect: \(error)")
            }
        }
        let store = try StoreSupport.open(context, access: .readOnly)
        let withSize = arguments[size]
        var documents: [(json: OutputJSON, type: GoType)] = []
        var failed = false
        for name in arguments.positionals {
            do {
                let document = try await StoreSupport.blocking { () -> (json: OutputJSON, type: GoType) in
                    if kind != "image", let container = try containerDocument(named: name, store: store, size: withSize) {
                        return (container, DockerInspectTypes.container)
                    }
                    guard kind != "container" else { throw GeneralError("No such container: \(name)") }
                    do {
                        return (try ImageInspection.document(for: store.image(named: name), store: store), DockerInspectTypes.image)
                    } catch StoreError.imageNotFound where kind == nil {
                        // With `--type image` the store's "No such image: NAME:latest" stays, as in Docker.
                        throw GeneralError("No such object: \(name)")
                    }
                }
                documents.append(document)
            } catch let error as KilnError {
                failed = true
                context.stderr.line(error.diagnostic.rendered())
            }
        }
        try InspectOutput.write(documents, format: arguments[format], context: context)
        return failed ? ExitStatus.failure : ExitStatus.success
    }

    /// Returns the inspect document of the container `name` (an ID, an ID prefix or a name), or
    /// nil when no container has that name.
    static func containerDocument(named name: String, store: Store, size: Bool = false) throws -> OutputJSON? {
        let container: Container
        do {
            container = try ContainerRepository(store: store).find(name)
        } catch let error as ContainerError {
            if case .notFound = error.kind { return nil }
            throw error
        }
        let manager = ContainerManager(store: store, environment: ProcessInfo.processInfo.environment)
        return ContainerInspection.document(for: container, manager: manager, size: size)
    }
}
