#include "CEpoll.h"

#include <sys/epoll.h>

int runnel_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int runnel_epoll_control(int epoll, int op, int fd, uint32_t events) {
    struct epoll_event event = {0};
    event.events = events;
    event.data.fd = fd;
    return epoll_ctl(epoll, op, fd, &event);
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
