import Testing

@testable import KilnDockerfile

@Suite struct RunMountTests {
    @Test func defaultsByType() throws {
        #expect(try RunMount(parsing: "target=/x").type == .bind)
        #expect(try RunMount(parsing: "target=/x").readOnly)
        #expect(try !RunMount(parsing: "type=cache,target=/x").readOnly)
        #expect(try !RunMount(parsing: "type=tmpfs,target=/x").readOnly)
        #expect(try RunMount(parsing: "type=secret,id=a").readOnly)
        #expect(try RunMount(parsing: "type=ssh").readOnly)
        #expect(try !RunMount(parsing: "type=bind,target=/x,rw").readOnly)
        #expect(try RunMount(parsing: "type=cache,target=/x,ro=true").readOnly)
        #expect(try !RunMount(parsing: "type=bind,target=/x,readwrite=1").readOnly)
        #expect(try RunMount(parsing: "TYPE=CACHE,TARGET=/x").type == .cache)
    }

    @Test func optionsDecode() throws {
        let mount = try RunMount(parsing: "type=cache,dst=/c,id=x,sharing=Private,mode=0750,uid=1,gid=2,from=base,src=/s")
        #expect(mount.target == "/c")
        #expect(mount.id == "x")
        #expect(mount.sharing == .private)
        #expect(mount.mode == 0o750)
        #expect(mount.uid == 1)
        #expect(mount.gid == 2)
        #expect(mount.from == "base")
        #expect(mount.source == "/s")
        #expect(try RunMount(parsing: "type=tmpfs,target=/t,size=1g").size == 1 << 30)
        #expect(try RunMount(parsing: "type=secret,id=t,env=TOKEN,required").env == "TOKEN")
        #expect(try RunMount(parsing: "type=secret,id=t,required=false").required == false)
        #expect(try RunMount(parsing: "\"type=bind\",\"target=/a,b\"").target == "/a,b")
        #expect(try RunMount(parsing: "type=bind,\"target=/a\"\"b\"").target == "/a\"b")
    }

    @Test func optionOrderDoesNotMatter() throws {
        let mount = try RunMount(parsing: "required,id=s,type=secret")
        #expect(mount.required)
        #expect(mount.type == .secret)
    }

    struct InvalidCase: CustomTestStringConvertible, Sendable {
        var text: String
        var failure: MountFailure
        var testDescription: String { text }
    }

    static let invalidCases: [InvalidCase] = [
        InvalidCase(text: "", failure: .csv("it is empty")),
        InvalidCase(text: "type=cache,target=/c\"", failure: .csv("bare \" in non-quoted field at column 21")),
        InvalidCase(text: "\"type=cache", failure: .csv("a quoted field is not closed")),
        InvalidCase(text: "type=cache,\"target=/c\"x", failure: .csv("extraneous \" in field at column 23")),
        InvalidCase(text: "type=volume,target=/v", failure: .unsupportedType("volume", suggestion: nil)),
        InvalidCase(text: "type=bnd,target=/v", failure: .unsupportedType("bnd", suggestion: "bind")),
        InvalidCase(text: "type=cache,target=/c,foo=1", failure: .unknownKey("foo", suggestion: nil)),
        InvalidCase(text: "type=cache,target=/c,share=locked", failure: .unknownKey("share", suggestion: nil)),
        InvalidCase(text: "type=cache,target=/c,sharing=sometimes", failure: .invalidValue("sharing", "sometimes")),
        InvalidCase(text: "type=cache,target=/c,ro=maybe", failure: .invalidValue("ro", "maybe")),
        InvalidCase(text: "type=cache,target=/c,uid=-1", failure: .invalidValue("uid", "-1")),
        InvalidCase(text: "type=tmpfs,target=/t,size=lots", failure: .invalidValue("size", "lots")),
        InvalidCase(text: "type=bind,target=/b,mode=0755", failure: .keyNotAllowed("mode", .bind)),
        InvalidCase(text: "type=cache,target=/c,mode=17777", failure: .invalidValue("mode", "17777")),
        InvalidCase(text: "type=cache,target=/c,mode=+700", failure: .invalidValue("mode", "+700")),
        InvalidCase(text: "type=tmpfs,target=/t,uid=1", failure: .keyNotAllowed("uid", .tmpfs)),
        InvalidCase(text: "type=cache,target=/c,size=1m", failure: .keyNotAllowed("size", .cache)),
        InvalidCase(text: "type=cache,target=/c,env=X", failure: .keyNotAllowed("env", .cache)),
        InvalidCase(text: "type=bind,target=/b,required", failure: .keyNotAllowed("required", .bind)),
        InvalidCase(text: "type=secret,from=x,id=a", failure: .keyNotAllowed("from", .secret)),
        InvalidCase(text: "type=tmpfs,target=/t,from=x", failure: .keyNotAllowed("from", .tmpfs)),
        InvalidCase(text: "type=tmpfs", failure: .missingTarget(.tmpfs)),
        InvalidCase(text: "type=bind,target=", failure: .missingTarget(.bind)),
        InvalidCase(text: "type=secret", failure: .secretWithoutName),
        InvalidCase(text: "type=secret,id=a,src=b", failure: .sourceAndID),
        InvalidCase(text: "type=cache,target=/c,nonsense", failure: .notKeyValue("nonsense")),
    ]

    @Test(arguments: invalidCases)
    func invalidMounts(_ testCase: InvalidCase) {
        #expect(throws: testCase.failure) { try RunMount(parsing: testCase.text) }
    }

    @Test func deferredMountResolvesPerStep() throws {
        let flag = try MountFlag(parsing: "type=cache,target=/c/$NAME,uid=${UID}")
        #expect(flag.mount == nil)
        var names: Set<String> = []
        let mount = try flag.resolved(with: ["NAME": "pip", "UID": "42"], expander: ShellExpander(), referencedNames: &names)
        #expect(mount.target == "/c/pip")
        #expect(mount.uid == 42)
        #expect(names == ["NAME", "UID"])
    }

    @Test func deferredMountStillChecksKeys() {
        #expect(throws: MountFailure.unknownKey("traget", suggestion: nil)) {
            try MountFlag(parsing: "type=cache,traget=/c/$X")
        }
        #expect(throws: MountFailure.fromWithVariable("$IMAGE")) {
            try MountFlag(parsing: "type=bind,from=$IMAGE,target=/x")
        }
    }
}
