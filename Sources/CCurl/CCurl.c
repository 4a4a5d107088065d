#include "CCurl.h"
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const size_t RUNNEL_CURL_PAUSE = CURL_WRITEFUNC_PAUSE;
const int RUNNEL_CURL_TIMED_OUT = CURLE_OPERATION_TIMEDOUT;

/* The functions used, resolved from the library; the header gives their types. */
static struct {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_easy_pause) *easy_pause;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
    __typeof__(curl_multi_init) *multi_init;
    __typeof__(curl_multi_add_handle) *multi_add_handle;
    __typeof__(curl_multi_remove_handle) *multi_remove_handle;
    __typeof__(curl_multi_perform) *multi_perform;
    __typeof__(curl_multi_poll) *multi_poll;
    __typeof__(curl_multi_wakeup) *multi_wakeup;
    __typeof__(curl_multi_info_read) *multi_info_read;
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const char *load_error = NULL;

#define RESOLVE(field, name) \
    if (!(curl.field = dlsym(library, name))) { load_error = "libcurl lacks " name " (7.68 or later is needed)"; return; }

static void load(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        load_error = "libcurl.so.4 could not be loaded (Debian package libcurl4)";
        return;
    }
    RESOLVE(global_init, "curl_global_init")
    RESOLVE(easy_init, "curl_easy_init")
    RESOLVE(easy_setopt, "curl_easy_setopt")
    RESOLVE(easy_getinfo, "curl_easy_getinfo")
    RESOLVE(easy_cleanup, "curl_easy_cleanup")
    RESOLVE(easy_pause, "curl_easy_pause")
    RESOLVE(easy_strerror, "curl_easy_strerror")
    RESOLVE(slist_append, "curl_slist_append")
    RESOLVE(slist_free_all, "curl_slist_free_all")
    RESOLVE(multi_init, "curl_multi_init")
    RESOLVE(multi_add_handle, "curl_multi_add_handle")
    RESOLVE(multi_remove_handle, "curl_multi_remove_handle")
    RESOLVE(multi_perform, "curl_multi_perform")
    RESOLVE(multi_poll, "curl_multi_poll")
    RESOLVE(multi_wakeup, "curl_multi_wakeup")
    RESOLVE(multi_info_read, "curl_multi_info_read")
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) load_error = "libcurl could not initialize";
}

int runnel_curl_load(const char **error) {
    pthread_once(&load_once, load);
    if (error) *error = load_error;
    return load_error ? -1 : 0;
}

struct runnel_curl_transfer {
    CURL *easy;
    struct curl_slist *headers;
    runnel_curl_write write;
    void *context;
    char error[CURL_ERROR_SIZE];
};

static size_t on_body(char *bytes, size_t size, size_t count, void *pointer) {
    runnel_curl_transfer *transfer = pointer;
    return transfer->write(bytes, size * count, transfer->context);
}

runnel_curl_transfer *runnel_curl_transfer_new(const char *url, const char *const *headers, int header_count,
                                               const uint8_t *body, size_t body_length, long timeout_ms,
                                               runnel_curl_write write, void *context) {
    if (runnel_curl_load(NULL) != 0) return NULL;
    runnel_curl_transfer *transfer = calloc(1, sizeof *transfer);
    if (!transfer) return NULL;
    transfer->easy = curl.easy_init();
    if (!transfer->easy) {
        free(transfer);
        return NULL;
    }
    transfer->write = write;
    transfer->context = context;
    for (int i = 0; i < header_count; i++) {
        struct curl_slist *grown = curl.slist_append(transfer->headers, headers[i]);
        if (!grown) {
            runnel_curl_transfer_free(transfer);
            return NULL;
        }
        transfer->headers = grown;
    }
    CURL *easy = transfer->easy;
    int failed = 0;
    failed |= curl.easy_setopt(easy, CURLOPT_URL, url);
    failed |= curl.easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    failed |= curl.easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    failed |= curl.easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, (const char *)body);
    failed |= curl.easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
    failed |= curl.easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    failed |= curl.easy_setopt(easy, CURLOPT_WRITEDATA, transfer);
    failed |= curl.easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
    failed |= curl.easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    /* Signals are the server's; a timeout must not raise SIGALRM in it. */
    failed |= curl.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    failed |= curl.easy_setopt(easy, CURLOPT_PRIVATE, transfer);
    if (failed) {
        runnel_curl_transfer_free(transfer);
        return NULL;
    }
    return transfer;
}

void runnel_curl_transfer_free(runnel_curl_transfer *transfer) {
    if (!transfer) return;
    if (transfer->easy) curl.easy_cleanup(transfer->easy);
    if (transfer->headers) curl.slist_free_all(transfer->headers);
    free(transfer);
}

long runnel_curl_transfer_status(runnel_curl_transfer *transfer) {
    long status = 0;
    if (curl.easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) return 0;
    return status;
}

const char *runnel_curl_transfer_error(runnel_curl_transfer *transfer, int code) {
    return transfer->error[0] ? transfer->error : curl.easy_strerror((CURLcode)code);
}

void runnel_curl_transfer_pause(runnel_curl_transfer *transfer, int paused) {
    curl.easy_pause(transfer->easy, paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
}

void *runnel_curl_multi_new(void) {
    if (runnel_curl_load(NULL) != 0) return NULL;
    return curl.multi_init();
}

void runnel_curl_multi_add(void *multi, runnel_curl_transfer *transfer) {
    curl.multi_add_handle(multi, transfer->easy);
}

void runnel_curl_multi_remove(void *multi, runnel_curl_transfer *transfer) {
    curl.multi_remove_handle(multi, transfer->easy);
}

void runnel_curl_multi_perform(void *multi) {
    int running = 0;
    curl.multi_perform(multi, &running);
}

void runnel_curl_multi_wait(void *multi, int timeout_ms) {
    curl.multi_poll(multi, NULL, 0, timeout_ms, NULL);
}

void runnel_curl_multi_wakeup(void *multi) {
    curl.multi_wakeup(multi);
}

runnel_curl_transfer *runnel_curl_multi_next_done(void *multi, int *code) {
    int left = 0;
    CURLMsg *message;
    while ((message = curl.multi_info_read(multi, &left))) {
        if (message->msg != CURLMSG_DONE) continue;
        runnel_curl_transfer *transfer = NULL;
        curl.easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, (char **)&transfer);
        *code = (int)message->data.result;
        return transfer;
    }
    return NULL;
}
