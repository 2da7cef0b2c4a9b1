#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/conf.h>

/// Stops libcrypto from registering its exit-time cleanup, and from reading its configuration
/// file (openssl.cnf) on the first digest. kiln exits while other threads may still release
/// digest contexts, and that cleanup racing with them corrupts the heap. Must run before any
/// other libcrypto call. Afterwards libcrypto never loads the file by itself in this process,
/// so `kiln_crypto_load_configuration` must.
static inline int kiln_crypto_skip_exit_cleanup_and_configuration(void) {
    return OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
}

/// Loads libcrypto's default configuration file (OPENSSL_CONF, else openssl.cnf in OpenSSL's
/// directory) with the flags that OpenSSL 3's automatic loading uses: the `openssl_conf`
/// section, a missing file is no error, and errors count only where the file sets
/// `config_diagnostics`. Returns 1 on success.
static inline int kiln_crypto_load_configuration(void) {
    OPENSSL_load_builtin_modules();
    return CONF_modules_load_file(
        NULL, NULL,
        CONF_MFLAGS_DEFAULT_SECTION | CONF_MFLAGS_IGNORE_MISSING_FILE | CONF_MFLAGS_IGNORE_RETURN_CODES);
}
