import Foundation
import KilnImage

/// A user name and password (or token) for one registry.
///
/// Its description hides the password, so printing or logging the value never shows it.
public struct RegistryCredentials: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The `Authorization` value for HTTP basic authentication.
    var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    public var description: String { "RegistryCredentials(username: \(quoted(username)), password: <hidden>)" }
}

/// Reads credentials from kiln's login file and Docker's config file, and writes kiln's.
///
/// kiln's file comes first: `$KILN_AUTH_FILE`, else `$XDG_CONFIG_HOME/kiln/auth.json` (by default
/// `~/.config/kiln/auth.json`), written with mode 0600. Docker's is `$DOCKER_CONFIG/config.json`,
/// else `~/.docker/config.json`, read only. Both have Docker's shape:
/// `{"auths": {"registry.example.com": {"auth": base64("user:password")}}}`.
///
/// A Docker config file that is not valid JSON is skipped with a warning, as the Docker CLI
/// skips it ("WARNING: Error loading config file"), so pulls that need no login still work.
/// An invalid kiln file stays an error, because kiln wrote it.
public struct CredentialStore: Sendable {
    public var kilnAuthPath: String
    public var dockerConfigPath: String
    /// Receives the warning when Docker's config file is skipped.
    public var warn: (@Sendable (String) -> Void)?

    public init(kilnAuthPath: String, dockerConfigPath: String) {
        self.kilnAuthPath = kilnAuthPath
        self.dockerConfigPath = dockerConfigPath
    }

    public init(environment: [String: String]) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        if let file = environment["KILN_AUTH_FILE"], !file.isEmpty {
            kilnAuthPath = file
        } else {
            let config = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "\(home)/.config"
            kilnAuthPath = "\(config)/kiln/auth.json"
        }
        let docker = environment["DOCKER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.docker"
        dockerConfigPath = "\(docker)/config.json"
    }

    /// The key Docker uses for a registry in `auths`: Docker Hub has its historical URL.
    public static func key(for registry: String) -> String {
        registry == Reference.defaultDomain ? "https://index.docker.io/v1/" : registry
    }

    /// The registry an `auths` key names: `https://host/v1/` and `host` both name `host`.
    static func registry(forKey key: String) -> String {
        var value = RegistrySettings.stripScheme(key)
        if let slash = value.firstIndex(of: "/") { value = String(value[..<slash]) }
        if ["index.docker.io", "registry-1.docker.io", "docker.io"].contains(value) { return Reference.defaultDomain }
        return value
    }

    /// Credentials for `registry`, from kiln's file and then Docker's, or nil for anonymous access.
    ///
    /// - Throws: `RegistryError.credentialHelperUnsupported` when Docker keeps this registry's
    ///   credentials in a helper program and kiln's file has none, and
    ///   `invalidCredentialsFile` for a file that is not valid.
    public func credentials(for registry: String) throws -> RegistryCredentials? {
        if let found = try Self.lookup(registry, in: kilnAuthPath) { return found }
        let config: JSONValue
        do {
            guard let read = try Self.readConfig(dockerConfigPath) else { return nil }
            config = read
        } catch RegistryError.invalidCredentialsFile(let path, let reason) {
            warn?("WARNING: ignoring Docker's config file \(path), so kiln uses no credentials from it: \(reason)")
            return nil
        }
        if let found = try Self.lookup(registry, in: config, path: dockerConfigPath) { return found }
        if let helper = config["credHelpers"]?[key: registry]?.stringValue ?? config["credsStore"]?.stringValue {
            throw RegistryError.credentialHelperUnsupported(registry: registry, helper: helper, configPath: dockerConfigPath)
        }
        return nil
    }

    /// Returns why Docker's config file cannot be read, or nil when it is missing or valid JSON.
    public func dockerConfigProblem() -> String? {
        do {
            _ = try Self.readConfig(dockerConfigPath)
            return nil
        } catch RegistryError.invalidCredentialsFile(_, let reason) {
            return reason
        } catch {
            return nil
        }
    }

    /// Returns `error` with a hint to fix Docker's config file, when the registry denied access and
    /// that file was skipped because it is not valid.
    public func explainingDenial(_ error: any Error) -> any Error {
        guard let registryError = error as? RegistryError, case .unauthorized(let registry, _, _) = registryError,
            let reason = dockerConfigProblem()
        else { return error }
        return RegistryError.deniedWithSkippedConfig(registryError, registry: registry, path: dockerConfigPath, reason: reason)
    }

    /// Saves credentials for `registry` in kiln's file, replacing any it had.
    public func store(_ credentials: RegistryCredentials, for registry: String) throws {
        var auths = try Self.readConfig(kilnAuthPath)?["auths"]?.objectValue ?? [:]
        for key in auths.keys where Self.registry(forKey: key) == registry { auths[key] = nil }
        let encoded = Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
        auths[Self.key(for: registry)] = .object(["auth": .string(encoded)])
        try writeKilnFile(auths)
    }

    /// Removes `registry` from kiln's file; false when it had no entry.
    public func remove(_ registry: String) throws -> Bool {
        guard var auths = try Self.readConfig(kilnAuthPath)?["auths"]?.objectValue else { return false }
        let keys = auths.keys.filter { Self.registry(forKey: $0) == registry }
        guard !keys.isEmpty else { return false }
        for key in keys { auths[key] = nil }
        try writeKilnFile(auths)
        return true
    }

    /// Writes through a temporary file created with mode 0600 and renamed over the old one, so
    /// the file is never readable by others and never half written.
    private func writeKilnFile(_ auths: [String: JSONValue]) throws {
        let directory = (kilnAuthPath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let bytes = JSONValue.object(["auths": .object(auths)]).canonicalBytes() + [UInt8(ascii: "\n")]
        let temporary = "\(kilnAuthPath).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw RegistryError.localFile(path: temporary, reason: String(cString: strerror(errno))) }
        var failure: String?
        bytes.withUnsafeBytes { raw in
            if write(fd, raw.baseAddress, raw.count) != raw.count || fsync(fd) != 0 {
                failure = String(cString: strerror(errno))
            }
        }
        fchmod(fd, 0o600)
        close(fd)
        if failure == nil, rename(temporary, kilnAuthPath) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw RegistryError.localFile(path: kilnAuthPath, reason: failure)
        }
    }

    static func readConfig(_ path: String) throws -> JSONValue? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard data.count <= 16 << 20 else { throw RegistryError.invalidCredentialsFile(path: path, reason: "larger than 16 MiB") }
        do {
            let value = try JSONValue.parse(Array(data))
            guard case .object = value else {
                throw RegistryError.invalidCredentialsFile(path: path, reason: "expected a JSON object")
            }
            return value
        } catch let error as ImageError {
            throw RegistryError.invalidCredentialsFile(path: path, reason: error.diagnostic.message)
        }
    }

    private static func lookup(_ registry: String, in path: String) throws -> RegistryCredentials? {
        guard let config = try readConfig(path) else { return nil }
        return try lookup(registry, in: config, path: path)
    }

    private static func lookup(_ registry: String, in config: JSONValue, path: String) throws -> RegistryCredentials? {
        guard let auths = config["auths"]?.objectValue else { return nil }
        // An exact key first, then any key that names the same registry (`https://host/v1/`).
        let keys = [key(for: registry)] + auths.keys.sorted().filter { self.registry(forKey: $0) == registry }
        for key in keys {
            guard let entry = auths[key] else { continue }
            if let encoded = entry["auth"]?.stringValue, !encoded.isEmpty {
                guard let decoded = Data(base64Encoded: encoded).map({ String(decoding: $0, as: UTF8.self) }),
                    let colon = decoded.firstIndex(of: ":")
                else {
                    throw RegistryError.invalidCredentialsFile(
                        path: path, reason: "auths[\(quoted(key))].auth is not base64 of user:password")
                }
                return RegistryCredentials(
                    username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
            }
            if let username = entry["username"]?.stringValue, let password = entry["password"]?.stringValue {
                return RegistryCredentials(username: username, password: password)
            }
        }
        return nil
    }
}

extension JSONValue {
    fileprivate subscript(key key: String) -> JSONValue? { self[key] }
}
