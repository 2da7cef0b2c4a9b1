import KilnDockerfile
import Testing

@testable import KilnBuild

struct RunMountsTests {
    struct SecretCase: CustomTestStringConvertible, Sendable {
        var mount: String
        var id: String
        var target: String?

        var testDescription: String { mount }
    }

    @Test(arguments: [
        SecretCase(mount: "type=secret,source=token", id: "token", target: "/run/secrets/token"),
        SecretCase(mount: "type=secret,src=token", id: "token", target: "/run/secrets/token"),
        SecretCase(mount: "type=secret,source=token,target=/etc/key", id: "token", target: "/etc/key"),
        SecretCase(mount: "type=secret,id=token", id: "token", target: "/run/secrets/token"),
        SecretCase(mount: "type=secret,target=/etc/key", id: "key", target: "/etc/key"),
        SecretCase(mount: "type=secret,id=team/token", id: "team/token", target: "/run/secrets/token"),
        SecretCase(mount: "type=secret,id=token,env=TOKEN", id: "token", target: nil),
        SecretCase(mount: "type=secret,source=token,env=TOKEN", id: "token", target: nil),
    ])
    func secretNamesFollowBuildKit(_ secret: SecretCase) throws {
        let named = try RunMounts.namingSecret(try RunMount(parsing: secret.mount))
        #expect(named.id == secret.id)
        #expect(named.target == secret.target)
    }

    @Test func secretWithOnlyEnvIsRejected() throws {
        let mount = try RunMount(parsing: "type=secret,env=TOKEN")
        let error = #expect(throws: BuildError.self) { try RunMounts.namingSecret(mount) }
        #expect(
            error?.diagnostic.message
                == "RUN --mount=type=secret needs the secret's id: add id=NAME, source=NAME or target=PATH")
    }
}
