import Foundation
import Testing

/// kiln against Debian's docker-registry with HTTP basic authentication (an htpasswd file).
@Suite struct RegistryAuthTests {
    /// The bcrypt entry of user `tester` with password `kiln-secret`.
    static let htpasswd = "tester:$2b$12$P8mryIO9j1yE1s2oz54XF..TvIZRBnTFXJT3rnI28tGnCvZvKEP9W\n"

    @Test(.enabled(if: TestRegistry.isAvailable, "needs Debian's docker-registry"))
    func loginPushPullLogout() async throws {
        let scratch = try TemporaryDirectory("kiln-registry-auth")
        defer { scratch.remove() }
        let registry = try TestRegistry(htpasswd: Self.htpasswd)
        defer { registry.stop() }
        try scratch.write("tree/hello.txt", "hello\n")
        try await Command.run("/bin/tar", ["-C", scratch.appending("tree"), "-cf", scratch.appending("tree.tar"), "."])

        var kiln = KilnInvocation(root: scratch.appending("root"))
        kiln.environment["HOME"] = scratch.appending("home")
        kiln.environment["XDG_CONFIG_HOME"] = nil
        let imported = await kiln("import", scratch.appending("tree.tar"), "app:1")
        #expect(imported.status == 0, "\(imported.stderr)")
        let destination = "\(registry.host)/team/app:1"

        let anonymous = await kiln("push", "app:1", destination)
        #expect(anonymous.status == 1)
        #expect(anonymous.stderr.contains("access to \(registry.host)/team/app denied"))
        #expect(anonymous.stderr.contains("hint: log in with `kiln login \(registry.host)`"))

        let wrong = await kiln(
            "login", "-u", "tester", "--password-stdin", registry.host, stdin: Array("wrong\n".utf8))
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("login to \(registry.host) failed: the registry rejected the username or password"))
        let authFile = scratch.appending("home/.config/kiln/auth.json")
        #expect(!FileManager.default.fileExists(atPath: authFile))

        let login = await kiln(
            "login", "-u", "tester", "--password-stdin", registry.host, stdin: Array("kiln-secret\n".utf8))
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stdout == "Login Succeeded\n")
        let saved = try String(contentsOfFile: authFile, encoding: .utf8)
        #expect(!saved.contains("kiln-secret"), "the password is stored base64-encoded, as Docker does")
        let mode = try FileManager.default.attributesOfItem(atPath: authFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let pushed = await kiln("push", "app:1", destination)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        #expect(!pushed.stderr.contains("kiln-secret") && !pushed.stdout.contains("kiln-secret"))

        var other = kiln
        other.root = scratch.appending("other")
        let pulled = await other("pull", "-q", destination)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.stdout == "\(destination)\n")

        let logout = await kiln("logout", registry.host)
        #expect(logout.status == 0, "\(logout.stderr)")
        #expect(logout.stdout == "Removing login credentials for \(registry.host)\n")
        other.root = scratch.appending("third")
        let denied = await other("pull", destination)
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("denied"))
    }
}
