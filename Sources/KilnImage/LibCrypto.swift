import CCrypto
import Synchronization

/// Start-up of libcrypto for the whole process.
///
/// Reading openssl.cnf on the first EVP call took about 0.4 ms of each kiln command (OpenSSL
/// 3.0.19, Debian 12). Digests need nothing from that file, but TLS does: the file can set
/// protocol versions and cipher lists for every TLS context. So the `kiln` executable starts
/// libcrypto without the file, and a TLS client calls `loadConfigurationIfSkipped()` before its
/// first context. A process that never called `startWithoutConfiguration()` (tests, the
/// benchmark tools) lets libcrypto load the file itself, and the TLS call does nothing there.
///
/// NOTE: content digests (`DigestHasher`) call libcrypto's SHA-2 functions without providers,
/// so a configuration that enables another provider (FIPS) for every digest does not apply to
/// them.
public enum LibCrypto {
    private enum ConfigurationState {
        case loadedByLibCrypto
        case skipped
        case loaded(succeeded: Bool)
    }

    private static let state = Mutex(ConfigurationState.loadedByLibCrypto)

    /// Stops libcrypto's exit-time cleanup, which races with threads that still release
    /// digest contexts, and skips its configuration file. Call it first in `main`, before any
    /// other libcrypto call.
    public static func startWithoutConfiguration() {
        _ = kiln_crypto_skip_exit_cleanup_and_configuration()
        state.withLock { $0 = .skipped }
    }

    /// Loads libcrypto's configuration file once, when `startWithoutConfiguration()` skipped it.
    /// Returns false when the file could not be loaded (only where it sets
    /// `config_diagnostics`), as libcrypto's own loading would have failed the TLS context then.
    public static func loadConfigurationIfSkipped() -> Bool {
        state.withLock { state in
            switch state {
            case .loadedByLibCrypto:
                return true
            case .loaded(let succeeded):
                return succeeded
            case .skipped:
                let succeeded = kiln_crypto_load_configuration() == 1
                state = .loaded(succeeded: succeeded)
                return succeeded
            }
        }
    }
}
