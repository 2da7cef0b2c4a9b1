import Testing

@testable import KilnRuntime

@Suite struct UserResolutionTests {
    static let database = UserDatabase(
        passwd: Array(
            """
            root:x:0:0:root:/root:/bin/sh
            # a comment
            nobody:x:65534:65534:nobody:/nonexistent:/bin/false
            appuser:x:1001:1002:app:/home/app:/bin/sh
            nohome:x:1500:1500::
            +nisuser::::::
            broken line
            1234:x:2000:2000::/home/numeric:/bin/sh

            """.utf8),
        group: Array(
            """
            root:x:0:
            nogroup:x:65534:
            appgroup:x:1002:
            extra:x:1003:appuser,nobody
            more:x:1004:appuser

            """.utf8))

    struct Case: Sendable, CustomTestStringConvertible {
        var value: String
        var expected: ProcessUser
        var testDescription: String { "USER \(value)" }
    }

    static let cases: [Case] = [
        Case(value: "", expected: ProcessUser(uid: 0, gid: 0, additionalGids: [0], home: "/root")),
        Case(value: "root", expected: ProcessUser(uid: 0, gid: 0, additionalGids: [0], home: "/root")),
        Case(value: "appuser", expected: ProcessUser(uid: 1001, gid: 1002, additionalGids: [1002, 1003, 1004], home: "/home/app")),
        Case(value: "1001", expected: ProcessUser(uid: 1001, gid: 1002, additionalGids: [1002, 1003, 1004], home: "/home/app")),
        Case(value: "appuser:extra", expected: ProcessUser(uid: 1001, gid: 1003, additionalGids: [1003], home: "/home/app")),
        Case(value: "appuser:4000", expected: ProcessUser(uid: 1001, gid: 4000, additionalGids: [4000], home: "/home/app")),
        Case(value: "4242", expected: ProcessUser(uid: 4242, gid: 0, additionalGids: [0], home: "/")),
        Case(value: "4242:1002", expected: ProcessUser(uid: 4242, gid: 1002, additionalGids: [1002], home: "/")),
        Case(value: "nobody", expected: ProcessUser(uid: 65534, gid: 65534, additionalGids: [65534, 1003], home: "/nonexistent")),
        Case(value: "nohome", expected: ProcessUser(uid: 1500, gid: 1500, additionalGids: [1500], home: "/")),
        // A numeric name matches by uid first, as runc matches it.
        Case(value: "2000", expected: ProcessUser(uid: 2000, gid: 2000, additionalGids: [2000], home: "/home/numeric")),
    ]

    @Test(arguments: cases)
    func resolves(_ testCase: Case) throws {
        #expect(try Self.database.resolve(testCase.value) == testCase.expected)
    }

    @Test func unknownUser() {
        let error = #expect(throws: RuntimeError.self) { try Self.database.resolve("ghost") }
        #expect(error?.kind == .unknownUser("ghost"))
        #expect(error?.description == "unknown user \"ghost\": no such user in the image's /etc/passwd")
    }

    @Test func unknownGroup() {
        let error = #expect(throws: RuntimeError.self) { try Self.database.resolve("appuser:ghosts") }
        #expect(error?.kind == .unknownGroup("ghosts"))
    }

    @Test(arguments: ["a:b:c", ":1000", "appuser:", "-1", "4294967296", "1000:-5"])
    func invalidValues(_ value: String) {
        let error = #expect(throws: RuntimeError.self) { try Self.database.resolve(value) }
        #expect(error?.kind == .invalidUser(value))
    }

    @Test func emptyDatabaseAcceptsNumbersOnly() throws {
        let empty = UserDatabase(passwd: nil, group: nil)
        #expect(try empty.resolve("1000:1000") == ProcessUser(uid: 1000, gid: 1000, additionalGids: [1000], home: "/"))
        #expect(throws: RuntimeError(.unknownUser("app"))) { try empty.resolve("app") }
    }
}
