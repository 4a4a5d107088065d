#define _GNU_SOURCE
#include "CSandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// Landlock ABI 3 (Linux 6.2); older headers lack it, the kernel says whether it has it.
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

static int fail(char *error, size_t size, const char *format, ...) {
    int saved = errno;
    va_list args;
    va_start(args, format);
    int used = vsnprintf(error, size, format, args);
    va_end(args);
    if (used >= 0 && (size_t)used < size && saved != 0) {
        snprintf(error + used, size - (size_t)used, ": %s", strerror(saved));
    }
    return -1;
}

static int limit(int resource, unsigned long long value) {
    if (value == 0) return 0;
    struct rlimit bounds = {.rlim_cur = value, .rlim_max = value};
    return setrlimit(resource, &bounds);
}

// Calls no sandboxed program needs, and every one of them a way out or a way to another process.
static const int denied_calls[] = {
    SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(unshare),
    SCMP_SYS(setns), SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
    SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
    SCMP_SYS(userfaultfd), SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(init_module),
    SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(reboot), SCMP_SYS(swapon), SCMP_SYS(swapoff),
    SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at), SCMP_SYS(fsopen), SCMP_SYS(fsmount),
    SCMP_SYS(fsconfig), SCMP_SYS(move_mount), SCMP_SYS(open_tree), SCMP_SYS(pidfd_getfd), SCMP_SYS(acct),
    SCMP_SYS(settimeofday), SCMP_SYS(clock_settime), SCMP_SYS(adjtimex), SCMP_SYS(sethostname),
    SCMP_SYS(setdomainname), SCMP_SYS(iopl), SCMP_SYS(ioperm), SCMP_SYS(quotactl), SCMP_SYS(lookup_dcookie),
};

static const unsigned long long namespace_flags[] = {
    CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP,
};

/// The filter both levels share; `self` > 0 also confines signals to the process itself
/// (level B, which has no PID namespace to do it).
static scmp_filter_ctx build_filter(pid_t self, char *error, size_t size) {
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
    if (filter == NULL) {
        fail(error, size, "seccomp_init failed");
        return NULL;
    }
    int status = 0;
    for (size_t index = 0; status == 0 && index < sizeof(denied_calls) / sizeof(denied_calls[0]); index++) {
        status = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), denied_calls[index], 0);
    }
    // Only local sockets: no network, whatever the network namespace holds.
    if (status == 0) status = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
    for (size_t index = 0; status == 0 && index < sizeof(namespace_flags) / sizeof(namespace_flags[0]); index++) {
        unsigned long long flag = namespace_flags[index];
        status = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
    }
    // clone3 passes its flags in memory, out of a filter's reach: callers fall back to clone.
    if (status == 0) status = seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (status == 0 && self > 0) {
        // A rule compares an argument once, so "itself" is the one target left: the session's
        // own process (whose interrupt the driver raises this way).
        uint64_t own = (uint64_t)(int64_t)self;
        status = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_NE, own));
        if (status == 0) status = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_NE, own));
        if (status == 0) status = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(tkill), 1, SCMP_A0(SCMP_CMP_NE, own));
    }
    if (status != 0) {
        errno = -status;
        fail(error, size, "seccomp_rule_add failed");
        seccomp_release(filter);
        return NULL;
    }
    return filter;
}

int runnel_export_filter(int fd, char *error, size_t size) {
    scmp_filter_ctx filter = build_filter(0, error, size);
    if (filter == NULL) return -1;
    int status = seccomp_export_bpf(filter, fd);
    seccomp_release(filter);
    if (status != 0) {
        errno = -status;
        return fail(error, size, "seccomp_export_bpf failed");
    }
    return 0;
}

int runnel_landlock_abi(void) {
    long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

static __u64 landlock_rights(int abi) {
    __u64 rights = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
    if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
    return rights;
}

static const __u64 file_rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE
    | LANDLOCK_ACCESS_FS_TRUNCATE;
static const __u64 reading_rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

static int allow_paths(int ruleset, const char *const *paths, int count, __u64 rights, __u64 handled, char *error, size_t size) {
    for (int index = 0; index < count; index++) {
        int fd = open(paths[index], O_PATH | O_CLOEXEC);
        // A path the system does not have (say /lib64) needs no rule.
        if (fd < 0) continue;
        struct stat info;
        __u64 allowed = rights & handled;
        if (fstat(fd, &info) == 0 && !S_ISDIR(info.st_mode)) allowed &= file_rights;
        struct landlock_path_beneath_attr rule = {.allowed_access = allowed, .parent_fd = fd};
        long status = syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
        close(fd);
        if (status != 0) return fail(error, size, "landlock_add_rule(%s) failed", paths[index]);
    }
    return 0;
}

static int landlock(const struct runnel_confinement *c, char *error, size_t size) {
    int abi = runnel_landlock_abi();
    if (abi < 1) {
        errno = 0;
        return fail(error, size, "the kernel offers no Landlock");
    }
    __u64 handled = landlock_rights(abi);
    struct landlock_ruleset_attr attributes = {.handled_access_fs = handled};
    int ruleset = (int)syscall(__NR_landlock_create_ruleset, &attributes, sizeof(attributes.handled_access_fs), 0);
    if (ruleset < 0) return fail(error, size, "landlock_create_ruleset failed");
    int status = allow_paths(ruleset, c->read_only_paths, c->read_only_count, reading_rights, handled, error, size);
    if (status == 0) status = allow_paths(ruleset, c->read_write_paths, c->read_write_count, handled, handled, error, size);
    if (status == 0 && syscall(__NR_landlock_restrict_self, ruleset, 0) != 0) status = fail(error, size, "landlock_restrict_self failed");
    close(ruleset);
    return status;
}

int runnel_confine(const struct runnel_confinement *c, char *error, size_t size) {
    // Its own session and process group: the whole sandbox is signalled as one, and a level B
    // filter can allow signals to that group only.
    setsid();
    if (limit(RLIMIT_AS, c->address_space_bytes) != 0 || limit(RLIMIT_FSIZE, c->file_bytes) != 0
        || limit(RLIMIT_NOFILE, c->open_files) != 0 || limit(RLIMIT_NPROC, c->processes) != 0
        || limit(RLIMIT_CPU, c->cpu_seconds) != 0) {
        return fail(error, size, "setrlimit failed");
    }
    // No core files: a crashing session would write its whole memory into the session folder.
    struct rlimit no_core = {0, 0};
    if (setrlimit(RLIMIT_CORE, &no_core) != 0) return fail(error, size, "setrlimit failed");
    if (c->drop_privileges) {
        if (setgroups(0, NULL) != 0 || setgid(c->gid) != 0 || setuid(c->uid) != 0) return fail(error, size, "dropping root failed");
        if (setuid(0) == 0) {
            errno = 0;
            return fail(error, size, "root could be regained after dropping it");
        }
    }
    // The sandbox dies with the server (the signal fires when the spawning thread ends, and
    // sessions are spawned from a thread that lives as long as the process). Set after the ids
    // change, which would clear it; a parent already gone is caught by the check.
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return fail(error, size, "PR_SET_PDEATHSIG failed");
    if (getppid() != parent) {
        errno = 0;
        return fail(error, size, "the server ended while the sandbox started");
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail(error, size, "PR_SET_NO_NEW_PRIVS failed");
    if (!c->self_confine) return 0;
    if (landlock(c, error, size) != 0) return -1;
    scmp_filter_ctx filter = build_filter(getpid(), error, size);
    if (filter == NULL) return -1;
    int status = seccomp_load(filter);
    seccomp_release(filter);
    if (status != 0) {
        errno = -status;
        return fail(error, size, "seccomp_load failed");
    }
    return 0;
}

int runnel_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int runnel_memfd(const char *name) { return memfd_create(name, 0); }

int runnel_spawn_chdir(void *file_actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)file_actions, path);
}
