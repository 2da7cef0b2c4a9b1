#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/conf.h>
#include <openssl/sha.h>

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

/// The running state of one SHA-256, SHA-384 or SHA-512 digest, hashed by libcrypto's SHA-2
/// functions without its EVP interface.
///
/// A process's first EVP digest fetches the algorithm from the default provider, and that first
/// fetch builds libcrypto's table of every algorithm name. It took 0.9 ms in a C program that
/// hashed 600 bytes (OpenSSL 3.0.19), which `kiln run` paid to check the image config. The SHA-2
/// functions run the same block code as that provider, as fast on large inputs. OpenSSL 3.0
/// deprecates them, so the calls stay in this header.
typedef struct {
    /// 256, 384 or 512.
    int bits;
    union {
        SHA256_CTX sha256;
        SHA512_CTX sha512;
    } state;
} kiln_sha2_context;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/// Starts a digest of `bits` (256, 384 or 512). Returns 1 on success, 0 for other sizes.
static inline int kiln_sha2_init(kiln_sha2_context *context, int bits) {
    context->bits = bits;
    switch (bits) {
    case 256: return SHA256_Init(&context->state.sha256);
    case 384: return SHA384_Init(&context->state.sha512);
    case 512: return SHA512_Init(&context->state.sha512);
    default: return 0;
    }
}

static inline void kiln_sha2_update(kiln_sha2_context *context, const void *bytes, size_t count) {
    if (context->bits == 256) {
        SHA256_Update(&context->state.sha256, bytes, count);
    } else {
        SHA512_Update(&context->state.sha512, bytes, count);
    }
}

/// Writes the digest to `output`, which must hold 64 bytes, and returns its length in bytes.
static inline size_t kiln_sha2_final(kiln_sha2_context *context, unsigned char *output) {
    switch (context->bits) {
    case 256: SHA256_Final(output, &context->state.sha256); return SHA256_DIGEST_LENGTH;
    case 384: SHA384_Final(output, &context->state.sha512); return SHA384_DIGEST_LENGTH;
    default: SHA512_Final(output, &context->state.sha512); return SHA512_DIGEST_LENGTH;
    }
}

#pragma GCC diagnostic pop
