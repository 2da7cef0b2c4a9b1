import Foundation
import KilnRegistry
import Testing

/// kiln over https to a docker-registry with a self-signed certificate for 127.0.0.1: the
/// insecure-by-default loopback registry is reached over TLS without certificate checks, and a
/// verifying download accepts the certificate only with its CA file.
@Suite(.serialized) struct RegistryTLSTests {
    static let available =
        TestRegistry.isAvailable && Host.hasExecutable("skopeo") && Host.hasExecutable("openssl")

    /// Writes a self-signed certificate for IP 127.0.0.1 and its key into `scratch`.
    private func makeCertificate(_ scratch: TemporaryDirectory) async throws -> (certificate: String, key: String) {
        let certificate = scratch.appending("certs/registry.crt")
        let key = scratch.appending("registry.key")
        try FileManager.default.createDirectory(atPath: scratch.appending("certs"), withIntermediateDirectories: true)
        try await Command.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate,
            ])
        return (certificate, key)
    }

    @Test(.enabled(if: available, "needs docker-registry, skopeo and openssl"))
    func pullAndPushOverTLS() async throws {
        let scratch = try TemporaryDirectory("kiln-registry-tls")
        defer { scratch.remove() }
        let files = try await makeCertificate(scratch)
        let registry = try TestRegistry(tls: files)
        defer { registry.stop() }
        let layout = scratch.appending("layout")
        try await Command.run("/usr/bin/tar", ["-C", scratch.path, "-cf", scratch.appending("layer.tar"), "certs"])
        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.path
        #expect(await kiln("import", scratch.appending("layer.tar"), "tls:1").status == 0)
        #expect(await kiln("push", "tls:1", "oci:\(layout):1").status == 0)
        let source = "\(registry.host)/kiln/tls:1"
        try await Command.run("skopeo", ["copy", "-q", "--dest-tls-verify=false", "oci:\(layout):1", "docker://\(source)"])

        // 127.0.0.1 is insecure by default: https without certificate checks, no CA file needed.
        let other = KilnInvocation(root: scratch.appending("other"))
        let pulled = await other("--debug", "pull", source)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.stderr.contains("GET https://\(registry.host)/v2/kiln/tls/manifests/1"))
        let pushed = await other("push", "-q", source, "\(registry.host)/kiln/copy:1")
        #expect(pushed.status == 0, "\(pushed.stderr)")
    }

    /// The `kiln` executable starts libcrypto without openssl.cnf and loads the file before its
    /// first TLS context, so the file's TLS settings still apply. This file allows only TLS 1.1
    /// and older, which kiln's minimum of TLS 1.2 leaves no protocol for.
    @Test(.enabled(if: available && KilnBinary.isAvailable, "needs docker-registry, skopeo, openssl and a built kiln"))
    func pullHonoursOpenSSLConfiguration() async throws {
        let scratch = try TemporaryDirectory("kiln-registry-tls")
        defer { scratch.remove() }
        let files = try await makeCertificate(scratch)
        let registry = try TestRegistry(tls: files)
        defer { registry.stop() }
        let configuration = scratch.appending("openssl.cnf")
        try """
            openssl_conf = openssl_init
            [openssl_init]
            ssl_conf = ssl_section
            [ssl_section]
            system_default = system_default_section
            [system_default_section]
            MaxProtocol = TLSv1.1

            """.write(toFile: configuration, atomically: true, encoding: .utf8)

        // A separate kiln process, because libcrypto reads OPENSSL_CONF once per process. The
        // registry has no such image, so both pulls fail. `--debug` logs the failed https ping
        // before kiln tries plain http, as it does for an insecure registry.
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = scratch.path
        let arguments = ["--debug", "pull", "\(registry.host)/kiln/missing:1"]
        let plain = try await KilnBinary.run(root: scratch.appending("root"), arguments, environment: environment)
        #expect(plain.status != 0)
        #expect(!plain.stderr.contains("no protocols available"), "\(plain.stderr)")

        environment["OPENSSL_CONF"] = configuration
        let limited = try await KilnBinary.run(root: scratch.appending("other"), arguments, environment: environment)
        #expect(limited.status != 0)
        #expect(limited.stderr.contains("no protocols available"), "\(limited.stderr)")
    }

    @Test(.enabled(if: available, "needs docker-registry, skopeo and openssl"))
    func verifyingDownloadNeedsCAFile() async throws {
        let scratch = try TemporaryDirectory("kiln-registry-tls")
        defer { scratch.remove() }
        let files = try await makeCertificate(scratch)
        let registry = try TestRegistry(tls: files)
        defer { registry.stop() }
        let url = "https://\(registry.host)/v2/"

        var settings = RegistrySettings()
        settings.certificateFiles = [files.certificate]
        let trusted = try await FileDownload.fetch(url, to: scratch.appending("trusted"), settings: settings)
        #expect(trusted.size == 2)

        await #expect(throws: RegistryError.self) {
            _ = try await FileDownload.fetch(url, to: scratch.appending("untrusted"))
        }
    }
}
