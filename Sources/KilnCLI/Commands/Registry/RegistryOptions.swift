import Foundation
import KilnDiagnostics
import KilnImage
import KilnRegistry
import KilnStore
import Synchronization

/// The flags that pull, push and login share, and what they build: settings, credentials, the
/// blob location cache.
enum RegistryOptions {
    static let tlsVerify = ValueFlag(
        "tls-verify", placeholder: "bool",
        help: "Require HTTPS and verify certificates when contacting registries (false treats the registry as insecure)",
        default: "true")
    static let certDir = ValueFlag(
        "cert-dir", placeholder: "path", help: "Use the CA certificates (*.crt, *.pem) in this directory for registries")

    static var flags: [FlagSpec] { [tlsVerify.spec, certDir.spec] }

    /// Settings for a command that talks to `registry`: the `registries` table of the user's
    /// configuration, with the command's flags applied over it.
    static func settings(_ arguments: ParsedArguments, registry: String, context: CommandContext) throws -> RegistrySettings {
        var settings = try UserConfiguration.registrySettings(context)
        if let value = arguments[tlsVerify] {
            guard let verify = parseBool(value) else {
                throw UsageError(
                    command: arguments.commandName,
                    reason: .invalidValue(flag: "--tls-verify", value: value, reason: "expected true or false"))
            }
            if !verify { settings.insecureRegistries.append(registry) }
        }
        if let directory = arguments[certDir] {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            let certificates = files.filter { $0.hasSuffix(".crt") || $0.hasSuffix(".pem") }.sorted()
            guard !certificates.isEmpty else {
                throw GeneralError("no CA certificates (*.crt, *.pem) in \(directory)", hint: "check the --cert-dir path")
            }
            settings.certificateFiles += certificates.map { "\(directory)/\($0)" }
        }
        return settings
    }

    static func credentialStore(_ context: CommandContext) -> CredentialStore {
        var store = CredentialStore(environment: context.environment)
        let stderr = context.stderr
        let warned = WarnedFlag()
        store.warn = { text in
            // A pull reads credentials once per registry and mirror, and the file is the same each time.
            if warned.set() { stderr.line(text) }
        }
        return store
    }

    /// The cache of which repositories hold which blobs, kept in the store root.
    static func blobLocations(_ context: CommandContext) -> BlobLocations {
        BlobLocations(path: context.storeRoot + "/registry/blob-locations.json")
    }

    /// A reference from the command line, with Docker's wording for a bad one.
    static func reference(_ text: String, command: String) throws -> Reference {
        do {
            return try Reference(parsing: text)
        } catch let error as ImageError {
            throw GeneralError(error.diagnostic.message, hint: "See '\(command) --help'.")
        }
    }
}

/// A flag that is set once, shared by the calls of one warning closure.
private final class WarnedFlag: Sendable {
    private let value = Mutex(false)

    /// Sets the flag and reports whether it was clear before.
    func set() -> Bool {
        value.withLock { wasSet in
            defer { wasSet = true }
            return !wasSet
        }
    }
}
