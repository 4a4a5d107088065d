#ifndef RUNNEL_CCURL_H
#define RUNNEL_CCURL_H

#include <stddef.h>
#include <stdint.h>

/// libcurl, opened with dlopen on first use: a node on the built-in model never maps it (nor
/// the TLS, LDAP, SSH and RTMP libraries it brings), and curl_easy_setopt is variadic, which
/// Swift cannot call.

/// Loads libcurl once; 0 on success, else -1 with `error` naming what failed.
int runnel_curl_load(const char **error);

typedef struct runnel_curl_transfer runnel_curl_transfer;

/// Receives body bytes; returns `count` to go on, RUNNEL_CURL_PAUSE to be called again with the
/// same bytes once resumed, anything else to abort.
typedef size_t (*runnel_curl_write)(const char *bytes, size_t count, void *context);
extern const size_t RUNNEL_CURL_PAUSE;

/// A POST of `body` to `url` with the given header lines, over at most `timeout_ms` in all.
/// NULL if libcurl refused it.
runnel_curl_transfer *runnel_curl_transfer_new(const char *url, const char *const *headers, int header_count,
                                               const uint8_t *body, size_t body_length, long timeout_ms,
                                               runnel_curl_write write, void *context);
void runnel_curl_transfer_free(runnel_curl_transfer *transfer);
/// The HTTP status of the response, 0 before its head arrived.
long runnel_curl_transfer_status(runnel_curl_transfer *transfer);
/// What went wrong, for a transfer that ended with `code`.
const char *runnel_curl_transfer_error(runnel_curl_transfer *transfer, int code);
/// Pauses or resumes receiving; only on the thread that drives the multi handle.
void runnel_curl_transfer_pause(runnel_curl_transfer *transfer, int paused);

/// A multi handle: every transfer of the process on one thread.
void *runnel_curl_multi_new(void);
void runnel_curl_multi_add(void *multi, runnel_curl_transfer *transfer);
void runnel_curl_multi_remove(void *multi, runnel_curl_transfer *transfer);
/// Moves every transfer on as far as its sockets allow.
void runnel_curl_multi_perform(void *multi);
/// Waits up to `timeout_ms` for a socket to be ready or a wakeup.
void runnel_curl_multi_wait(void *multi, int timeout_ms);
/// Ends `runnel_curl_multi_wait` from another thread.
void runnel_curl_multi_wakeup(void *multi);
/// A transfer that ended since the last call, with its result code in `code`; NULL when none.
runnel_curl_transfer *runnel_curl_multi_next_done(void *multi, int *code);

/// The result code of a transfer that ran out of time.
extern const int RUNNEL_CURL_TIMED_OUT;

#endif
