#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>

/// Stops libcrypto from registering its exit-time cleanup. kiln exits while other threads may
/// still release digest contexts, and that cleanup racing with them corrupts the heap. Must run
/// before any other libcrypto call.
static inline int kiln_crypto_skip_exit_cleanup(void) {
    return OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}
