import Foundation
import Testing

/// Push hooks against a registry on 127.0.0.1, and run hooks before containers start.
@Suite(
    .enabled(if: BuildHarness.isReady && TestRegistry.isAvailable, "needs root, runc, busybox-static and docker-registry"),
    .serialized)
struct PluginPushTests {
    static let key = """
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
        -----END OPENSSH PRIVATE KEY-----

        """

    /// A build context whose image carries a private key, built into the shared store.
    func imageWithKey() async throws -> (TemporaryDirectory, KilnInvocation, String) {
        let context = try TemporaryDirectory("kiln-secret-guard")
        try context.write("id_ed25519", Self.key)
        try context.write("Dockerfile", "FROM kiln-test/busybox:1\nCOPY id_ed25519 /root/.ssh/id_ed25519\n")
        var kiln = try BuildHarness.kiln(in: context.path)
        kiln.environment["HOME"] = context.appending("home")
        let name = BuildHarness.uniqueName("secret")
        let built = await kiln("build", "-q", "-t", name, ".")
        #expect(built.status == 0, "\(built.stderr)")
        return (context, kiln, name)
    }

    func manifestExists(_ reference: String) async -> Bool {
        (try? await Command.run("skopeo", ["inspect", "--tls-verify=false", "--raw", "docker://\(reference)"])) != nil
    }

    @Test func secretGuardRefusesPushUnlessAllowed() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let (context, kiln, name) = try await imageWithKey()
        defer { context.remove() }
        let destination = "\(registry.host)/kiln/secret:1"

        let refused = await kiln("push", "--plugin", "secret-guard", name, destination)
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains(
                "error: push of \(destination) refused by plugin secret-guard: the image holds a private key in /root/.ssh/id_ed25519 in layer sha256:"),
            "\(refused.stderr)")
        #expect(await !manifestExists(destination))

        try context.write(
            "home/.config/kiln/config.lua",
            """
            return kiln.config {
              plugins = { { "secret-guard", options = { allow_registries = { "\(registry.host)" } } } },
            }
            """)
        let allowed = await kiln("push", name, destination)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(await manifestExists(destination))
    }

    @Test func buildPushIsRefusedBeforeUpload() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let (context, kiln, _) = try await imageWithKey()
        defer { context.remove() }
        let destination = "\(registry.host)/kiln/secret-build:1"
        let result = await kiln("build", "-q", "--plugin", "secret-guard", "--push", "-t", destination, ".")
        #expect(result.status == 1)
        #expect(result.stderr.contains("refused by plugin secret-guard"), "\(result.stderr)")
        #expect(await !manifestExists(destination))
    }

    @Test func semverTagSeesRegistryTags() async throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let context = try TemporaryDirectory("kiln-semver-push")
        defer { context.remove() }
        var kiln = try BuildHarness.kiln(in: context.path)
        kiln.environment["HOME"] = context.appending("home")
        let repository = "\(registry.host)/kiln/versioned-\(UUID().uuidString.prefix(8).lowercased())"

        try context.write("Dockerfile", "FROM kiln-test/busybox:1\nLABEL org.opencontainers.image.version=2.0.0\n")
        let newer = await kiln("build", "-q", "--plugin", "semver-tag", "--push", "-t", repository, ".")
        #expect(newer.status == 0, "\(newer.stderr)")
        #expect(await manifestExists("\(repository):latest"))
        // Forget the local tags, so that only the registry knows 2.0.0 is the highest.
        for tag in ["2.0.0", "2.0", "2", "latest"] {
            _ = await kiln("rmi", "\(repository):\(tag)")
        }

        try context.write("Dockerfile", "FROM kiln-test/busybox:1\nLABEL org.opencontainers.image.version=1.4.0\n")
        let older = await kiln("build", "--progress=plain", "--plugin", "semver-tag", "--push", "-t", repository, ".")
        #expect(older.status == 0, "\(older.stderr)")
        #expect(older.stderr.contains("naming to \(repository):1.4.0 done"))
        #expect(older.stderr.contains("naming to \(repository):1 done"))
        #expect(!older.stderr.contains("naming to \(repository):latest done"), "\(older.stderr)")
    }
}

@Suite(.enabled(if: ContainerHarness.isReady, "run tests need root, runc, slirp4netns and busybox-static"))
struct PluginRunHookTests {
    @Test func runHookRefusesRootContainers() async throws {
        try await ContainerHarness.with { harness in
            let plugin = try harness.directory.write(
                "no-root.lua",
                """
                return kiln.plugin {
                  name = "no-root", version = "1.0.0", api = 1,
                  on = { run = function(container)
                    if container.user == nil or container.user == "root" or container.user == "0" then
                      container:refuse("run containers with --user")
                    end
                  end },
                }
                """)
            let refused = await harness.kiln("run", "--rm", "--network", "none", "--plugin", plugin, ContainerHarness.image, "true")
            #expect(refused.status == 125)
            #expect(
                refused.stderr.hasPrefix(
                    "error: starting a container from \(ContainerHarness.image) refused by plugin no-root: run containers with --user"),
                "\(refused.stderr)")
            #expect(await harness.kiln("ps", "-aq").stdout == "")

            let created = await harness.kiln("create", "--network", "none", "--plugin", plugin, ContainerHarness.image)
            #expect(created.status == 125)

            let allowed = await harness.kiln(
                "run", "--rm", "--network", "none", "--user", "1000", "--plugin", plugin, ContainerHarness.image, "true")
            #expect(allowed.status == 0, "\(allowed.stderr)")
        }
    }
}
