#ifndef RUNNEL_CTLS_H
#define RUNNEL_CTLS_H

#include <stddef.h>

// OpenSSL for the HTTP server's event loop, as a few plain functions: much of OpenSSL's API is
// macros Swift cannot call, and its error queue is per thread, so every call that can fail reads
// its error within the same C call.

/// What a read or write did, besides moving bytes (a positive count).
#define RUNNEL_TLS_WANT_READ (-1)
#define RUNNEL_TLS_WANT_WRITE (-2)
/// The peer ended the session cleanly, or closed its socket (end of input either way).
#define RUNNEL_TLS_CLOSED (-3)
/// A protocol or socket error: the connection is over.
#define RUNNEL_TLS_FAILED (-4)

typedef struct runnel_tls_context runnel_tls_context;
typedef struct runnel_tls runnel_tls;

/// A server context (TLS 1.2 and 1.3, forward-secret AEAD ciphers only) with the PEM certificate
/// chain and key; NULL with a reason in `error` when either cannot be used.
runnel_tls_context *runnel_tls_context_new(const char *certificate_path, const char *key_path, char *error, size_t error_size);
void runnel_tls_context_free(runnel_tls_context *context);

/// A server session on the non-blocking socket `fd`; the handshake happens in the first reads.
runnel_tls *runnel_tls_new(runnel_tls_context *context, int fd);
void runnel_tls_free(runnel_tls *session);

int runnel_tls_read(runnel_tls *session, void *buffer, int capacity);
int runnel_tls_write(runnel_tls *session, const void *bytes, int count);
/// Decrypted bytes held inside the session, which the socket will not announce.
int runnel_tls_pending(runnel_tls *session);
/// Whether the handshake has completed.
int runnel_tls_established(runnel_tls *session);
/// Sends close_notify, without waiting for the peer's.
void runnel_tls_close_notify(runnel_tls *session);

/// For `runnel health` against an HTTPS server: sends `request` over TLS on the connected,
/// blocking socket `fd` and reads the start of the answer into `response`. The certificate is
/// not verified: the probe asks whether the server answers, and trusts nothing it says.
/// Returns the bytes read, or -1.
int runnel_tls_probe(int fd, const char *request, int request_size, char *response, int capacity);

#endif
