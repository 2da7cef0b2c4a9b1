import Foundation

/// Writes an OCI bundle: the generated files, then `config.json`.
enum BundleWriter {
    static func write(_ configuration: ContainerConfiguration, to bundle: BundleLayout) throws -> RuntimeSpec {
        let spec = try RuntimeSpec(configuration, bundle: bundle)
        do {
            // mkdir comes first because the folder usually exists (`kiln run` made it), and the
            // first use of FileManager's attribute dictionary costs a type lookup in the runtime.
            if mkdir(bundle.directory, 0o700) != 0, errno != EEXIST {
                try FileManager.default.createDirectory(
                    atPath: bundle.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            try write(Array(EtcFiles.hosts(configuration).utf8), to: bundle.hosts, mode: 0o644)
            try write(
                Array(EtcFiles.resolvConf(configuration, host: EtcFiles.hostResolvConf()).utf8),
                to: bundle.resolvConf, mode: 0o644)
            try write(Array((configuration.hostname + "\n").utf8), to: bundle.hostname, mode: 0o644)
            for (index, file) in configuration.extraFiles.enumerated() {
                try write(file.contents, to: bundle.extraFile(index), mode: file.mode)
            }
            try write(spec.json.canonicalBytes(), to: bundle.config, mode: 0o600)
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError(.systemCallFailed(operation: "writing the bundle \(bundle.directory)", errno: EIO))
        }
        return spec
    }

    /// Replaces `path` with `bytes`; the file is created with `mode` and never follows a symlink.
    static func write(_ bytes: [UInt8], to path: String, mode: UInt32) throws {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw RuntimeError(.systemCallFailed(operation: "creating \(path)", errno: errno))
        }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw RuntimeError(.systemCallFailed(operation: "writing \(path)", errno: errno))
            }
            offset += written
        }
        fchmod(fd, mode)
    }
}
