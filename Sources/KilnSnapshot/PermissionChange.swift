import Glibc

/// A `--chmod` value as it applies to each copied entry: a fixed mode, or chmod(1)'s symbolic
/// clauses (`u+x`, `go-w`, `a=rX`) applied to the entry's own mode. No umask applies, so `+x`
/// sets all three execute bits.
public enum PermissionChange: Sendable, Hashable {
    case set(mode_t)
    case symbolic([Clause])

    /// One comma-separated part of a symbolic mode: the classes it changes, then its operations.
    public struct Clause: Sendable, Hashable {
        /// The bits of `u`, `g`, `o` (all of them when no class is written).
        var classes: mode_t
        var operations: [Operation]
    }

    struct Operation: Sendable, Hashable {
        var sign: UInt8
        var permissions: String
    }

    /// Parses chmod(1)'s symbolic syntax: `[ugoa]*([-+=]([rwxXst]*|[ugo]))+`, comma-separated.
    /// Returns nil for anything else.
    public init?(symbolic text: String) {
        var clauses: [Clause] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            var rest = Substring(part)
            var classes: mode_t = 0
            while let first = rest.first, "ugoa".contains(first) {
                classes |= Self.classBits(first)
                rest = rest.dropFirst()
            }
            var operations: [Operation] = []
            while let sign = rest.first, "-+=".contains(sign) {
                rest = rest.dropFirst()
                var permissions = ""
                if let source = rest.first, "ugo".contains(source) {
                    permissions.append(source)
                    rest = rest.dropFirst()
                } else {
                    while let letter = rest.first, "rwxXst".contains(letter) {
                        permissions.append(letter)
                        rest = rest.dropFirst()
                    }
                }
                operations.append(Operation(sign: sign.asciiValue ?? 0, permissions: permissions))
            }
            guard !operations.isEmpty, rest.isEmpty else { return nil }
            clauses.append(Clause(classes: classes == 0 ? 0o7777 : classes, operations: operations))
        }
        self = .symbolic(clauses)
    }

    /// Returns the permission bits an entry with `mode` gets. `X` adds execute permission only
    /// to directories and to files that some class may already execute.
    public func applied(to mode: mode_t, isDirectory: Bool) -> mode_t {
        switch self {
        case .set(let bits):
            return bits
        case .symbolic(let clauses):
            let original = mode & 0o7777
            var result = original
            for clause in clauses {
                for operation in clause.operations {
                    var bits: mode_t = 0
                    for letter in operation.permissions {
                        switch letter {
                        case "r": bits |= 0o444
                        case "w": bits |= 0o222
                        case "x": bits |= 0o111
                        case "X": if isDirectory || original & 0o111 != 0 { bits |= 0o111 }
                        case "s": bits |= 0o6000
                        case "t": bits |= 0o1000
                        case "u": bits |= ((result >> 6) & 0o7) * 0o111
                        case "g": bits |= ((result >> 3) & 0o7) * 0o111
                        case "o": bits |= (result & 0o7) * 0o111
                        default: break
                        }
                    }
                    bits &= clause.classes
                    switch operation.sign {
                    case UInt8(ascii: "+"): result |= bits
                    case UInt8(ascii: "-"): result &= ~bits
                    default: result = (result & ~clause.classes) | bits
                    }
                }
            }
            return result
        }
    }

    /// `u` owns setuid and the owner's bits, `g` setgid and the group's, `o` the sticky bit and
    /// the others'.
    private static func classBits(_ letter: Character) -> mode_t {
        switch letter {
        case "u": 0o4700
        case "g": 0o2070
        case "o": 0o1007
        default: 0o7777
        }
    }
}
