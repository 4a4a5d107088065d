#include "CTLS.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

struct runnel_tls_context { SSL_CTX *ctx; };
struct runnel_tls { SSL *ssl; };

/// Mozilla's "intermediate" TLS 1.2 ciphers: ECDHE key exchange and AEAD only. TLS 1.3's own
/// suites are all acceptable, so OpenSSL's defaults stay.
static const char *const tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

static void describe(const char *what, char *error, size_t error_size) {
    unsigned long code = ERR_peek_last_error();
    char reason[256] = "unknown error";
    if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
    snprintf(error, error_size, "%s: %s", what, reason);
    ERR_clear_error();
}

runnel_tls_context *runnel_tls_context_new(const char *certificate_path, const char *key_path, char *error, size_t error_size) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        describe("cannot create a TLS context", error, error_size);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // No renegotiation (a client could make the server do handshakes at will), no compression.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Partial writes and a moving buffer suit a non-blocking writer whose buffer can grow;
    // released buffers keep an idle connection from holding its 34 KB of record buffers.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    const char *failure = NULL;
    if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1) failure = "cannot set the TLS 1.2 ciphers";
    else if (SSL_CTX_use_certificate_chain_file(ctx, certificate_path) != 1) failure = "cannot read the certificate chain";
    else if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) failure = "cannot use the private key with the certificate";
    else if (SSL_CTX_check_private_key(ctx) != 1) failure = "the private key does not match the certificate";
    if (failure != NULL) {
        describe(failure, error, error_size);
        SSL_CTX_free(ctx);
        return NULL;
    }
    runnel_tls_context *context = malloc(sizeof *context);
    if (context == NULL) {
        SSL_CTX_free(ctx);
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    context->ctx = ctx;
    return context;
}

void runnel_tls_context_free(runnel_tls_context *context) {
    if (context == NULL) return;
    // Sessions made from it hold their own reference: it lives on until the last one ends.
    SSL_CTX_free(context->ctx);
    free(context);
}

runnel_tls *runnel_tls_new(runnel_tls_context *context, int fd) {
    ERR_clear_error();
    SSL *ssl = SSL_new(context->ctx);
    if (ssl == NULL) {
        ERR_clear_error();
        return NULL;
    }
    if (SSL_set_fd(ssl, fd) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    runnel_tls *session = malloc(sizeof *session);
    if (session == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    session->ssl = ssl;
    return session;
}

void runnel_tls_free(runnel_tls *session) {
    if (session == NULL) return;
    SSL_free(session->ssl);
    free(session);
}

static int outcome(SSL *ssl, int result, int writing) {
    int code = SSL_get_error(ssl, result);
    int saved = errno;
    ERR_clear_error();
    switch (code) {
    case SSL_ERROR_WANT_READ: return RUNNEL_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return RUNNEL_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return RUNNEL_TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        // EOF without close_notify: many clients just close; the HTTP framing says whether
        // anything was cut short. An interrupted call is tried again by the caller's loop.
        if (saved == EINTR || saved == EAGAIN || saved == EWOULDBLOCK) return writing ? RUNNEL_TLS_WANT_WRITE : RUNNEL_TLS_WANT_READ;
        return saved == 0 ? RUNNEL_TLS_CLOSED : RUNNEL_TLS_FAILED;
    default: return RUNNEL_TLS_FAILED;
    }
}

int runnel_tls_read(runnel_tls *session, void *buffer, int capacity) {
    ERR_clear_error();
    errno = 0;
    int result = SSL_read(session->ssl, buffer, capacity);
    return result > 0 ? result : outcome(session->ssl, result, 0);
}

int runnel_tls_write(runnel_tls *session, const void *bytes, int count) {
    ERR_clear_error();
    errno = 0;
    int result = SSL_write(session->ssl, bytes, count);
    if (result > 0) return result;
    int code = outcome(session->ssl, result, 1);
    // A writer never waits for input: that would be a handshake still under way.
    return code == RUNNEL_TLS_CLOSED ? RUNNEL_TLS_FAILED : code;
}

int runnel_tls_pending(runnel_tls *session) { return SSL_pending(session->ssl); }

int runnel_tls_established(runnel_tls *session) { return SSL_is_init_finished(session->ssl); }

void runnel_tls_close_notify(runnel_tls *session) {
    ERR_clear_error();
    if (SSL_is_init_finished(session->ssl)) SSL_shutdown(session->ssl);
    ERR_clear_error();
}

int runnel_tls_probe(int fd, const char *request, int request_size, char *response, int capacity) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) return -1;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    int result = -1;
    SSL *ssl = SSL_new(ctx);
    if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_connect(ssl) == 1 &&
        SSL_write(ssl, request, request_size) == request_size) {
        result = SSL_read(ssl, response, capacity);
        if (result <= 0) result = -1;
    }
    if (ssl != NULL) SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return result;
}
