#ifndef RUNNEL_CMALLOC_H
#define RUNNEL_CMALLOC_H

#include <stddef.h>

/// Bytes glibc's malloc holds free in its arenas (mallinfo2's fordblks); <malloc.h> is not in
/// Glibc's Swift module.
size_t runnel_malloc_free_bytes(void);

/// Bytes in use (mallinfo2's uordblks).
size_t runnel_malloc_used_bytes(void);

/// Returns the arenas' free pages to the system (malloc_trim(0)); 1 if any were returned.
int runnel_malloc_trim(void);

/// Caps how many arenas malloc keeps (M_ARENA_MAX; glibc's default is 8 per core).
void runnel_malloc_limit_arenas(int count);

#endif
