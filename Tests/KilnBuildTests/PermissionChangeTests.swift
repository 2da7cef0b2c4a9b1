import Glibc
import KilnSnapshot
import Testing

/// `COPY --chmod` with chmod(1)'s symbolic modes, applied to each entry's own mode.
struct PermissionChangeTests {
    @Test(arguments: [
        ("+x", 0o644, false, 0o755), ("u+x", 0o644, false, 0o744), ("go-r", 0o644, false, 0o600),
        ("u=rwx,g=rx,o=", 0o600, false, 0o750), ("a=r", 0o777, false, 0o444), ("=", 0o4755, false, 0o000),
        ("a=rX", 0o644, false, 0o444), ("a=rX", 0o744, false, 0o555), ("a=rX", 0o700, true, 0o555),
        ("u+s", 0o755, false, 0o4755), ("g+s", 0o755, true, 0o2755), ("o+t", 0o777, true, 0o1777),
        ("+t", 0o755, true, 0o1755), ("g=u", 0o640, false, 0o660), ("o=g", 0o750, false, 0o755),
        ("u-w+x", 0o644, false, 0o544), ("ug+w,o-rwx", 0o444, false, 0o660), ("u=", 0o4755, false, 0o055),
        ("a+rw-", 0o600, false, 0o666),
    ])
    func appliesToTheEntryMode(_ text: String, _ mode: Int, _ isDirectory: Bool, _ expected: Int) throws {
        let change = try #require(PermissionChange(symbolic: text))
        #expect(change.applied(to: mode_t(mode), isDirectory: isDirectory) == mode_t(expected))
    }

    @Test(arguments: ["", "u", "u+y", "+x,", ",+x", "x+", "u+x g", "755"])
    func rejectsWhatChmodRejects(_ text: String) {
        #expect(PermissionChange(symbolic: text) == nil)
    }

    @Test func octalModeReplacesTheBits() {
        #expect(PermissionChange.set(0o750).applied(to: 0o4777, isDirectory: true) == 0o750)
    }
}
