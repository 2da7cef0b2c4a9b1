import Foundation
import KilnDiagnostics
import KilnImage
import KilnRegistry

/// `kiln login`: checks credentials against a registry and saves them in kiln's login file.
enum LoginCommand {
    static let username = ValueFlag("username", short: "u", help: "Username")
    static let password = ValueFlag("password", short: "p", help: "Password")
    static let passwordStdin = BoolFlag("password-stdin", help: "Take the password from stdin")

    static let spec = CommandSpec(
        name: "login",
        summary: "Log in to a registry",
        usage: "[OPTIONS] [SERVER]",
        discussion: "Credentials are checked against the registry and saved in ~/.config/kiln/auth.json (mode 0600). Defaults to Docker Hub.",
        flags: [username.spec, password.spec, passwordStdin.spec] + RegistryOptions.flags,
        arity: .range(0...1),
        category: "Commands"
    ) { arguments, context in
        let command = arguments.commandName
        let registry = try LogoutCommand.registry(arguments.positionals.first, command: command)
        var user = arguments[username]
        var secret = arguments[password]
        if arguments[passwordStdin] {
            guard secret == nil else {
                throw UsageError(command: command, reason: .custom("--password and --password-stdin are mutually exclusive"))
            }
            guard let user else {
                throw UsageError(command: command, reason: .custom("Must provide --username with --password-stdin"))
            }
            guard !user.isEmpty else {
                throw UsageError(
                    command: command, reason: .custom("Must provide --username with --password-stdin: the username is empty"))
            }
            var text = String(decoding: try context.stdin.readAll(), as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            guard !text.isEmpty else {
                throw GeneralError(
                    "--password-stdin: the password on standard input is empty",
                    hint: "echo \"$TOKEN\" | kiln login -u USER --password-stdin \(registry)")
            }
            secret = text
        } else if secret != nil {
            context.stderr.line("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
        }
        // On a terminal, ask for what the flags did not give, as `docker login` does.
        if context.stdin.isTerminal {
            if user == nil || user?.isEmpty == true {
                context.stdout.write("Username: ")
                user = try context.stdin.readLine()?.trimmingCharacters(in: .whitespaces)
            }
            if secret == nil || secret?.isEmpty == true {
                context.stdout.write("Password: ")
                secret = try context.stdin.readSecretLine()
            }
        }
        guard let name = user, !name.isEmpty, let secretValue = secret, !secretValue.isEmpty else {
            throw GeneralError(
                context.stdin.isTerminal
                    ? "a username and a password are required"
                    : "cannot ask for a username and password: standard input is not a terminal",
                hint: "echo \"$TOKEN\" | kiln login -u USER --password-stdin \(registry)")
        }
        user = name

        let credentials = RegistryCredentials(username: name, password: secretValue)
        let settings = try RegistryOptions.settings(arguments, registry: registry, context: context)
        let client = try await RegistryClient.connect(
            registry: registry, settings: settings, credentials: credentials, logger: context.logger)
        do {
            try await client.verifyCredentials()
        } catch RegistryError.unauthorized(_, _, let failure) {
            throw GeneralError(
                "login to \(registry) failed: the registry rejected the username or password (\(failure.summary))",
                hint: "check the username and password; nothing was saved")
        }

        let store = RegistryOptions.credentialStore(context)
        try store.store(credentials, for: registry)
        context.stderr.line("WARNING! Your password will be stored unencrypted in \(store.kilnAuthPath).")
        context.stdout.line("Login Succeeded")
        return ExitStatus.success
    }
}
