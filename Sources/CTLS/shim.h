#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

// Wrappers for OpenSSL macros, which Swift cannot call.

static inline long kiln_ssl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

static inline long kiln_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

static inline long kiln_ssl_ctx_set_auto_retry(SSL_CTX *context) {
    return SSL_CTX_set_mode(context, SSL_MODE_AUTO_RETRY);
}
