import Foundation

/// Checks host ports by binding them, the way slirp4netns will.
enum PortProbe {
    /// Throws `portInUse` when `mapping`'s host address and port cannot be bound because another
    /// socket holds them.
    static func checkAvailable(_ mapping: PortMapping) throws {
        let fd = try bind(mapping.hostIP, port: mapping.hostPort, proto: mapping.proto)
        close(fd)
    }

    /// A free port on `hostIP`, chosen by the kernel, for `-p CONTAINER_PORT` and `-P`.
    static func freePort(_ hostIP: String, proto: PortMapping.TransportProtocol) throws -> Int {
        let fd = try bind(hostIP, port: 0, proto: proto)
        defer { close(fd) }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let family = address.ss_family
        let port = withUnsafePointer(to: &address) { pointer -> UInt16 in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port }
        }
        return Int(UInt16(bigEndian: port))
    }

    private static func bind(_ hostIP: String, port: Int, proto: PortMapping.TransportProtocol) throws -> Int32 {
        let isIPv6 = hostIP.contains(":")
        let type = proto == .tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        let fd = socket(isIPv6 ? AF_INET6 : AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw RuntimeError(.systemCallFailed(operation: "creating a socket", errno: errno))
        }
        // slirp4netns sets SO_REUSEADDR too, so a port held only by connections in TIME_WAIT is free.
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))

        let result: Int32
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET6, hostIP, &address.sin6_addr) == 1 else {
                close(fd)
                throw RuntimeError(.invalidPortMapping(hostIP, reason: "not an IP address"))
            }
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET, hostIP, &address.sin_addr) == 1 else {
                close(fd)
                throw RuntimeError(.invalidPortMapping(hostIP, reason: "not an IP address"))
            }
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            if code == EADDRINUSE {
                throw RuntimeError(.portInUse(hostIP: hostIP, hostPort: port, proto: proto.rawValue))
            }
            throw RuntimeError(.systemCallFailed(operation: "binding \(hostIP):\(port)/\(proto.rawValue)", errno: code))
        }
        return fd
    }
}
