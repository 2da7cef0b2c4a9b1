import CSystem
import Glibc

extension FileDescriptor {
    /// fchown(2) on the open file.
    public func setOwner(user: uid_t, group: gid_t) throws {
        guard fchown(rawValue, user, group) == 0 else { throw SystemError.current("change owner of", path: pathForDisplay) }
    }

    /// fchmod(2): permission bits with setuid, setgid and sticky.
    public func setPermissions(_ permissions: mode_t) throws {
        guard fchmod(rawValue, permissions & 0o7777) == 0 else {
            throw SystemError.current("change mode of", path: pathForDisplay)
        }
    }

    /// futimens(2); a nil access time is left unchanged.
    public func setTimes(access: timespec?, modification: timespec) throws {
        let times = [access ?? timespec(tv_sec: 0, tv_nsec: kiln_utime_omit), modification]
        guard futimens(rawValue, times) == 0 else { throw SystemError.current("set times of", path: pathForDisplay) }
    }

    /// fsetxattr(2) on the open file.
    public func setExtendedAttribute(_ attribute: String, _ value: [UInt8]) throws {
        let result = value.withUnsafeBytes { fsetxattr(rawValue, attribute, $0.baseAddress, $0.count, 0) }
        guard result == 0 else {
            throw SystemError.current("set extended attribute \(attribute) on", path: pathForDisplay)
        }
    }
}
