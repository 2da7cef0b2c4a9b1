extension UserDatabase {
    /// Resolves a Dockerfile `USER` or `kiln run -u` value to a process identity: `NAME`, `UID`,
    /// `NAME:GROUP`, `UID:GID`, or a mix; empty means root.
    ///
    /// Names must exist in the files. A numeric uid or gid that the files do not list is used as
    /// given, with gid 0 and home `/` for an unlisted uid, as Docker does. Without an explicit
    /// group the user also gets every group of /etc/group that lists it as a member.
    public func resolve(_ value: String) throws -> ProcessUser {
        let parts = value.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else {
            throw RuntimeError(.invalidUser(value))
        }
        let userPart = parts[0]
        let groupPart = parts.count == 2 ? parts[1] : nil
        if groupPart == "" || (userPart.isEmpty && groupPart != nil) {
            throw RuntimeError(.invalidUser(value))
        }

        var resolved: ProcessUser
        var userName: String?
        if userPart.isEmpty {
            resolved = ProcessUser(uid: 0, gid: 0, home: "/")
            userName = users.first { $0.uid == 0 }?.name
        } else if let uid = Self.numericID(userPart) {
            if let entry = users.first(where: { $0.uid == uid }) {
                resolved = ProcessUser(uid: uid, gid: entry.gid, home: entry.home)
                userName = entry.name
            } else {
                resolved = ProcessUser(uid: uid, gid: 0, home: "/")
            }
        } else if Self.looksNumeric(userPart) {
            throw RuntimeError(.invalidUser(value))
        } else if let entry = users.first(where: { $0.name == userPart }) {
            resolved = ProcessUser(uid: entry.uid, gid: entry.gid, home: entry.home)
            userName = entry.name
        } else {
            throw RuntimeError(.unknownUser(userPart))
        }
        if userPart.isEmpty, let root = users.first(where: { $0.uid == 0 }) {
            resolved.home = root.home
        }

        // The primary group comes first in the supplementary list, as containerd sets it for
        // Docker, so `id` shows it under groups= too.
        if let groupPart {
            resolved.gid = try resolveGroup(groupPart, in: value)
            resolved.additionalGids = [resolved.gid]
        } else {
            let memberships = userName.map { name in groups.filter { $0.members.contains(name) }.map(\.gid) } ?? []
            // An array rather than a Set: the list is short, and a Set<UInt32> cost Swift's
            // first-use type lookups at every `kiln run`.
            var gids: [UInt32] = []
            for gid in [resolved.gid] + memberships where !gids.contains(gid) {
                gids.append(gid)
            }
            resolved.additionalGids = gids
        }
        if resolved.home.isEmpty { resolved.home = "/" }
        return resolved
    }

    private func resolveGroup(_ group: String, in value: String) throws -> UInt32 {
        if let gid = Self.numericID(group) {
            return gid
        }
        if Self.looksNumeric(group) {
            throw RuntimeError(.invalidUser(value))
        }
        guard let entry = groups.first(where: { $0.name == group }) else {
            throw RuntimeError(.unknownGroup(group))
        }
        return entry.gid
    }

    /// Parses a uid or gid in the range Linux accepts for a container process (0 to 2^31-1).
    private static func numericID(_ text: String) -> UInt32? {
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), let value = UInt32(text), value <= UInt32(Int32.max)
        else { return nil }
        return value
    }

    /// Digits only, or a leading minus sign: a number, even when out of range.
    private static func looksNumeric(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") ? Substring(text.dropFirst()) : Substring(text)
        return !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
