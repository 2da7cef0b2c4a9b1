import CTLS
import Foundation
import KilnImage
import Synchronization

/// An OpenSSL client context: the system's CA certificates plus any extra ones from the registry
/// settings, and peer verification that can be turned off for registries marked insecure.
final class TLSContext: @unchecked Sendable {
    // SSL_CTX is reference counted and safe to share between threads once configured.
    let context: OpaquePointer
    let verifiesPeer: Bool

    init(extraCertificateFiles: [String], verifyPeer: Bool) throws {
        // The `kiln` executable starts libcrypto without openssl.cnf, which can set TLS
        // protocol versions and ciphers for every context.
        guard LibCrypto.loadConfigurationIfSkipped() else {
            throw RegistryError.tls(
                host: "", reason: "cannot load OpenSSL's configuration file: \(TLSContext.lastError())")
        }
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw RegistryError.tls(host: "", reason: "SSL_CTX_new failed: \(TLSContext.lastError())")
        }
        self.context = context
        self.verifiesPeer = verifyPeer
        _ = kiln_ssl_ctx_set_min_tls12(context)
        _ = kiln_ssl_ctx_set_auto_retry(context)
        SSL_CTX_set_verify(context, verifyPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nil)
        // A context that checks no certificate needs no CA certificates, and loading the
        // system's bundle is the slow part of making one.
        guard verifyPeer else { return }
        SSL_CTX_set_default_verify_paths(context)
        for file in extraCertificateFiles {
            guard SSL_CTX_load_verify_locations(context, file, nil) == 1 else {
                throw RegistryError.tls(
                    host: "", reason: "cannot load CA certificates from \(quoted(file)): \(TLSContext.lastError())")
            }
        }
    }

    private static let verifyingContexts = Mutex<[[String]: TLSContext]>([:])

    /// Returns the process's context that verifies peers against the system's CA certificates
    /// plus `extraCertificateFiles`, making it on the first call. Parsing the system's bundle
    /// takes tens of milliseconds, so a process does it once per list of extra files.
    static func verifying(extraCertificateFiles: [String]) throws -> TLSContext {
        try verifyingContexts.withLock { contexts in
            if let context = contexts[extraCertificateFiles] { return context }
            let context = try TLSContext(extraCertificateFiles: extraCertificateFiles, verifyPeer: true)
            contexts[extraCertificateFiles] = context
            return context
        }
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// The oldest error on OpenSSL's per-thread queue, in OpenSSL's words, and clears the queue.
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "no details from OpenSSL" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// One TLS session over a connected, non-blocking socket.
final class TLSSession {
    private let ssl: OpaquePointer

    /// Performs the handshake, verifying the certificate against `host` when the context verifies peers.
    init(context: TLSContext, socket: Int32, host: String, wait: (_ forWriting: Bool) throws -> Void) throws {
        guard let ssl = SSL_new(context.context) else {
            throw RegistryError.tls(host: host, reason: "SSL_new failed: \(TLSContext.lastError())")
        }
        self.ssl = ssl
        SSL_set_fd(ssl, socket)
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        if !isAddress {
            _ = kiln_ssl_set_tlsext_host_name(ssl, host)
        }
        if context.verifiesPeer {
            let parameters = SSL_get0_param(ssl)
            if isAddress {
                X509_VERIFY_PARAM_set1_ip_asc(parameters, host)
            } else {
                SSL_set1_host(ssl, host)
            }
        }
        while true {
            let result = SSL_connect(ssl)
            if result == 1 { break }
            let error = SSL_get_error(ssl, result)
            switch error {
            case SSL_ERROR_WANT_READ: try wait(false)
            case SSL_ERROR_WANT_WRITE: try wait(true)
            default:
                let verify = SSL_get_verify_result(ssl)
                let reason =
                    verify != X509_V_OK
                    ? "certificate verification failed: \(String(cString: X509_verify_cert_error_string(verify)))"
                    : "handshake failed: \(TLSContext.lastError())"
                // deinit frees the session: the object is fully initialised by now.
                throw RegistryError.tls(host: host, reason: reason)
            }
        }
    }

    deinit {
        SSL_free(ssl)
    }

    enum Outcome {
        case transferred(Int)
        case wantRead
        case wantWrite
        case closed
    }

    func read(_ buffer: UnsafeMutableRawBufferPointer) -> Result<Outcome, RegistryError> {
        var count = 0
        let result = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
        if result == 1 { return .success(.transferred(count)) }
        return outcome(of: Int32(result))
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> Result<Outcome, RegistryError> {
        var count = 0
        let result = SSL_write_ex(ssl, buffer.baseAddress, buffer.count, &count)
        if result == 1 { return .success(.transferred(count)) }
        return outcome(of: Int32(result))
    }

    private func outcome(of result: Int32) -> Result<Outcome, RegistryError> {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .success(.wantRead)
        case SSL_ERROR_WANT_WRITE: return .success(.wantWrite)
        case SSL_ERROR_ZERO_RETURN: return .success(.closed)
        case SSL_ERROR_SYSCALL:
            // An EOF without close_notify: many servers end a connection this way. Another errno
            // (a reset) is the connection failing under TLS, reported as it is for plain HTTP.
            ERR_clear_error()
            return errno == 0 || errno == EAGAIN
                ? .success(.closed) : .failure(.connectionFailed(host: "", reason: String(cString: strerror(errno))))
        default:
            return .failure(.tls(host: "", reason: TLSContext.lastError()))
        }
    }

    func shutdown() {
        SSL_shutdown(ssl)
    }
}
