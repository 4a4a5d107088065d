#ifndef RUNNEL_CEPOLL_H
#define RUNNEL_CEPOLL_H

#include <stdint.h>

// epoll and accept4 for Swift: Glibc's module exports neither, and `struct epoll_event` is packed
// on x86_64, so Swift gets plain functions over file descriptors and event masks instead.

#define RUNNEL_EPOLLIN 0x001u
#define RUNNEL_EPOLLOUT 0x004u
#define RUNNEL_EPOLLERR 0x008u
#define RUNNEL_EPOLLHUP 0x010u
#define RUNNEL_EPOLLRDHUP 0x2000u

/// A new epoll instance (close-on-exec), or -1 with errno set.
int runnel_epoll_create(void);

/// Starts watching `fd`; 0, or the errno of the failure.
int runnel_epoll_add(int epoll, int fd, uint32_t events);

/// Changes the events watched on `fd`; 0, or the errno of the failure.
int runnel_epoll_modify(int epoll, int fd, uint32_t events);

/// Stops watching `fd`; 0, or the errno of the failure.
int runnel_epoll_remove(int epoll, int fd);

/// Ready descriptors without waiting: fills `fds` and `events` (up to `capacity`), returns how
/// many, or -1 with errno set.
int runnel_epoll_ready(int epoll, int *fds, uint32_t *events, int capacity);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC: the new socket is never blocking and never leaks
/// into a child process, with no window between accept and fcntl. -1 with errno set on failure.
int runnel_accept(int listener);

#endif
