import CSystem
import Glibc

extension DirectoryEntry {
    /// Sets the owner of the entry itself, never of a link's target (lchown semantics).
    public func setOwner(user: uid_t, group: gid_t) throws {
        let result = name.withCString { fchownat(directory.rawValue, $0, user, group, AT_SYMLINK_NOFOLLOW) }
        guard result == 0 else { throw SystemError.current("change owner of", path: path.description) }
    }

    /// Sets access and modification times of the entry itself (`utimensat` with `AT_SYMLINK_NOFOLLOW`).
    /// A nil access time is left unchanged.
    public func setTimes(access: timespec?, modification: timespec) throws {
        let times = [access ?? timespec(tv_sec: 0, tv_nsec: kiln_utime_omit), modification]
        let result = name.withCString { utimensat(directory.rawValue, $0, times, AT_SYMLINK_NOFOLLOW) }
        guard result == 0 else { throw SystemError.current("set times of", path: path.description) }
    }

    /// Sets permission bits, including setuid, setgid and sticky. Symbolic links have no mode of
    /// their own on Linux, so for a link nothing changes and the result is false.
    @discardableResult
    public func setPermissions(_ permissions: mode_t) throws -> Bool {
        let mode = permissions & 0o7777
        let result = name.withCString { kiln_fchmodat2(directory.rawValue, $0, mode, UInt32(AT_SYMLINK_NOFOLLOW)) }
        if result == 0 { return true }
        if errno == EOPNOTSUPP { return false }
        guard errno == ENOSYS else { throw SystemError.current("change mode of", path: path.description) }

        // Before Linux 6.6: pin the inode with an O_PATH descriptor, skip links, and change the
        // mode through the descriptor's /proc magic link, which names exactly that inode.
        let pinned = try open(flags: kiln_o_path)
        guard try pinned.stat().kind != .symbolicLink else { return false }
        guard chmod("/proc/self/fd/\(pinned.rawValue)", mode) == 0 else {
            throw SystemError.current("change mode of", path: path.description)
        }
        return true
    }

    /// Sets an extended attribute on the entry itself, never on a link's target.
    public func setExtendedAttribute(_ attribute: String, _ value: [UInt8]) throws {
        let result = name.withCString { cName in
            value.withUnsafeBytes { raw in
                kiln_setxattrat(
                    directory.rawValue, cName, UInt32(AT_SYMLINK_NOFOLLOW), attribute, raw.baseAddress, raw.count, 0)
            }
        }
        if result == 0 { return }
        guard errno == ENOSYS else { throw SystemError.current("set extended attribute \(attribute) on", path: path.description) }

        // Before Linux 6.13 there is no race-free way to set an attribute on a symbolic link
        // through a descriptor, so links are rejected; other entries go through their magic link.
        let pinned = try open(flags: kiln_o_path)
        guard try pinned.stat().kind != .symbolicLink else {
            throw SystemError(
                "set extended attribute \(attribute) on", path: path.description, errno: EOPNOTSUPP,
                detail: "setting attributes on symbolic links needs Linux 6.13")
        }
        let fallback = value.withUnsafeBytes { raw in
            setxattr("/proc/self/fd/\(pinned.rawValue)", attribute, raw.baseAddress, raw.count, 0)
        }
        guard fallback == 0 else { throw SystemError.current("set extended attribute \(attribute) on", path: path.description) }
    }

    /// The entry's extended attributes, by name, read from the entry itself.
    ///
    /// Before Linux 6.13 the attributes of symbolic links cannot be read through a descriptor and
    /// come back empty.
    public func extendedAttributes() throws -> [String: [UInt8]] {
        let names: [String]
        var pinned: FileDescriptor?
        if let list = try listAttributes(using: { buffer, size in
            name.withCString { kiln_listxattrat(directory.rawValue, $0, UInt32(AT_SYMLINK_NOFOLLOW), buffer, size) }
        }) {
            names = list
        } else {
            let descriptor = try open(flags: kiln_o_path)
            guard try descriptor.stat().kind != .symbolicLink else { return [:] }
            pinned = descriptor
            let magic = "/proc/self/fd/\(descriptor.rawValue)"
            names = try listAttributes(using: { buffer, size in listxattr(magic, buffer, size) }) ?? []
        }

        var attributes: [String: [UInt8]] = [:]
        for attribute in names {
            let value: [UInt8]?
            if let pinned {
                let magic = "/proc/self/fd/\(pinned.rawValue)"
                value = try readAttribute(attribute) { buffer, size in getxattr(magic, attribute, buffer, size) }
            } else {
                value = try readAttribute(attribute) { buffer, size in
                    name.withCString {
                        kiln_getxattrat(directory.rawValue, $0, UInt32(AT_SYMLINK_NOFOLLOW), attribute, buffer, size)
                    }
                }
            }
            if let value { attributes[attribute] = value }
        }
        return attributes
    }

    /// Runs a listxattr-style call until the buffer is big enough; nil when the call is missing (ENOSYS).
    private func listAttributes(using call: (UnsafeMutablePointer<CChar>?, Int) -> Int) throws -> [String]? {
        while true {
            let size = call(nil, 0)
            if size < 0 {
                if errno == ENOSYS { return nil }
                if errno == ENOTSUP { return [] }
                throw SystemError.current("list extended attributes of", path: path.description)
            }
            if size == 0 { return [] }
            var buffer = [CChar](repeating: 0, count: size)
            let filled = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress, size) }
            if filled < 0 && errno == ERANGE { continue }
            guard filled >= 0 else { throw SystemError.current("list extended attributes of", path: path.description) }
            return buffer[0..<filled].split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
    }

    /// Runs a getxattr-style call until the buffer is big enough; nil when the attribute vanished.
    private func readAttribute(_ attribute: String, using call: (UnsafeMutableRawPointer?, Int) -> Int) throws -> [UInt8]? {
        while true {
            let size = call(nil, 0)
            if size < 0 {
                if errno == ENODATA { return nil }
                throw SystemError.current("read extended attribute \(attribute) of", path: path.description)
            }
            var buffer = [UInt8](repeating: 0, count: size)
            let filled = buffer.withUnsafeMutableBytes { call($0.baseAddress, size) }
            if filled < 0 && errno == ERANGE { continue }
            guard filled >= 0 else { throw SystemError.current("read extended attribute \(attribute) of", path: path.description) }
            return Array(buffer[0..<filled])
        }
    }
}
