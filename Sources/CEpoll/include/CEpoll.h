#ifndef RUNNEL_CEPOLL_H
#define RUNNEL_CEPOLL_H

#include <stdint.h>

// epoll for Swift: Glibc's module does not export it, and `struct epoll_event` is packed on
// x86_64, so Swift gets plain functions over file descriptors and event masks instead.

#define RUNNEL_EPOLLIN 0x001u
#define RUNNEL_EPOLLOUT 0x004u
#define RUNNEL_EPOLLERR 0x008u
#define RUNNEL_EPOLLHUP 0x010u
#define RUNNEL_EPOLLRDHUP 0x2000u

/// A new epoll instance (close-on-exec), or -1.
int runnel_epoll_create(void);

/// Adds (op 1), removes (op 2) or changes (op 3) the events watched on `fd`.
int runnel_epoll_control(int epoll, int op, int fd, uint32_t events);

/// Ready descriptors without waiting: fills `fds` and `events` (up to `capacity`), returns how many.
int runnel_epoll_ready(int epoll, int *fds, uint32_t *events, int capacity);

#endif
