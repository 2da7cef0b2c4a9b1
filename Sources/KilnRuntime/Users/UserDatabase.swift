/// The users and groups of an image, read from its /etc/passwd and /etc/group as plain text.
///
/// kiln never calls NSS, because that would load the image's own libnss modules into kiln. Lines that do
/// not parse (comments, NIS `+`/`-` entries, short lines) are skipped, as runc's parser skips them.
public struct UserDatabase: Sendable, Equatable {
    public struct PasswdEntry: Sendable, Equatable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
        public var home: String
    }

    public struct GroupEntry: Sendable, Equatable {
        public var name: String
        public var gid: UInt32
        public var members: [String]
    }

    public var users: [PasswdEntry]
    public var groups: [GroupEntry]

    public init(users: [PasswdEntry] = [], groups: [GroupEntry] = []) {
        self.users = users
        self.groups = groups
    }

    /// Parses the contents of /etc/passwd and /etc/group; a nil file counts as empty.
    public init(passwd: [UInt8]?, group: [UInt8]?) {
        users = Self.lines(passwd).compactMap { fields -> PasswdEntry? in
            guard fields.count >= 4, let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { return nil }
            return PasswdEntry(name: fields[0], uid: uid, gid: gid, home: fields.count >= 6 ? fields[5] : "")
        }
        groups = Self.lines(group).compactMap { fields -> GroupEntry? in
            guard fields.count >= 3, let gid = UInt32(fields[2]) else { return nil }
            let members = fields.count >= 4 ? fields[3].split(separator: ",").map(String.init) : []
            return GroupEntry(name: fields[0], gid: gid, members: members)
        }
    }

    /// Reads /etc/passwd and /etc/group inside `rootfs`, resolving symlinks within it.
    public static func load(rootfs: String) throws -> UserDatabase {
        let root = try RootfsDirectory(path: rootfs)
        return UserDatabase(passwd: try root.readFile("etc/passwd"), group: try root.readFile("etc/group"))
    }

    private static func lines(_ bytes: [UInt8]?) -> [[String]] {
        guard let bytes else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
            let text = String(decoding: line, as: UTF8.self).trimmingTrailingCarriageReturn()
            guard let first = text.first, first != "#", first != "+", first != "-" else { return nil }
            return text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        }
    }
}

extension String {
    fileprivate func trimmingTrailingCarriageReturn() -> String {
        hasSuffix("\r") ? String(dropLast()) : self
    }
}
