import Foundation
import KilnDiagnostics
import KilnImage
import KilnRegistry

/// `kiln logout`: removes a registry's credentials from kiln's login file.
enum LogoutCommand {
    static let spec = CommandSpec(
        name: "logout",
        summary: "Log out from a registry",
        usage: "[SERVER]",
        discussion: "Removes the credentials kiln saved for the registry. Defaults to Docker Hub.",
        arity: .range(0...1),
        category: "Commands"
    ) { arguments, context in
        let registry = try registry(arguments.positionals.first, command: arguments.commandName)
        let store = RegistryOptions.credentialStore(context)
        if try store.remove(registry) {
            context.stdout.line("Removing login credentials for \(CredentialStore.key(for: registry))")
        } else {
            context.stdout.line("Not logged in to \(CredentialStore.key(for: registry))")
        }
        return ExitStatus.success
    }

    /// The registry host a login command names: `docker.io` by default, with Docker's spellings
    /// of Docker Hub and any `https://` prefix accepted.
    static func registry(_ argument: String?, command: String) throws -> String {
        guard var text = argument, !text.isEmpty else { return Reference.defaultDomain }
        for prefix in ["https://", "http://"] where text.hasPrefix(prefix) { text.removeFirst(prefix.count) }
        if let slash = text.firstIndex(of: "/") { text = String(text[..<slash]) }
        if ["index.docker.io", "registry-1.docker.io", "docker.io"].contains(text) { return Reference.defaultDomain }
        guard !text.isEmpty, !text.contains(where: { $0 == " " || $0 == "@" }) else {
            throw UsageError(command: command, reason: .custom("invalid registry address \"\(argument ?? "")\""))
        }
        return text
    }
}
