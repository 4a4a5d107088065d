#define _GNU_SOURCE
#include "CEpoll.h"

#include <errno.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>

int runnel_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

static int control(int epoll, int op, int fd, uint32_t events) {
    struct epoll_event event = {0};
    event.events = events;
    event.data.fd = fd;
    return epoll_ctl(epoll, op, fd, &event) == 0 ? 0 : errno;
}

int runnel_epoll_add(int epoll, int fd, uint32_t events) {
    return control(epoll, EPOLL_CTL_ADD, fd, events);
}

int runnel_epoll_modify(int epoll, int fd, uint32_t events) {
    return control(epoll, EPOLL_CTL_MOD, fd, events);
}

int runnel_epoll_remove(int epoll, int fd) {
    return control(epoll, EPOLL_CTL_DEL, fd, 0);
}

int runnel_epoll_ready(int epoll, int *fds, uint32_t *events, int capacity) {
    struct epoll_event ready[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(epoll, ready, capacity, 0);
    for (int index = 0; index < count; index++) {
        fds[index] = ready[index].data.fd;
        events[index] = ready[index].events;
    }
    return count;
}

int runnel_accept(int listener) {
    return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
