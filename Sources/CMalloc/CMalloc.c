#include "CMalloc.h"
#include <malloc.h>

size_t runnel_malloc_free_bytes(void) {
    return mallinfo2().fordblks;
}

int runnel_malloc_trim(void) {
    return malloc_trim(0);
}

size_t runnel_malloc_used_bytes(void) {
    return mallinfo2().uordblks;
}

void runnel_malloc_limit_arenas(int count) {
    mallopt(M_ARENA_MAX, count);
}
