#ifndef RUNNEL_CSANDBOX_H
#define RUNNEL_CSANDBOX_H

#include <stddef.h>
#include <sys/types.h>

/// What a sandboxed child applies to itself before it executes its program. Everything here
/// holds across exec and cannot be undone by the program.
struct runnel_confinement {
    /// Only when the process runs as root: the ids the child takes instead.
    int drop_privileges;
    uid_t uid;
    gid_t gid;
    /// Resource limits; 0 leaves one unset.
    unsigned long long address_space_bytes;
    unsigned long long file_bytes;
    unsigned long long open_files;
    unsigned long long processes;
    unsigned long long cpu_seconds;
    /// Level B: Landlock with these paths (and nothing else) reachable, and the strict seccomp
    /// filter loaded in this process. Level A leaves both to bubblewrap.
    int self_confine;
    const char *const *read_only_paths;
    int read_only_count;
    const char *const *read_write_paths;
    int read_write_count;
};

/// Applies the confinement to the calling process: a new session, the limits, the ids, no new
/// privileges, and for level B Landlock and seccomp. Returns 0, or -1 with a message in `error`.
int runnel_confine(const struct runnel_confinement *confinement, char *error, size_t error_size);

/// Writes the seccomp program bubblewrap loads for level A (`--seccomp FD`) to `fd`.
/// Returns 0, or -1 with a message in `error`.
int runnel_export_filter(int fd, char *error, size_t error_size);

/// The Landlock ABI version the kernel offers, or 0 when it offers none.
int runnel_landlock_abi(void);

/// glibc calls Swift cannot see without _GNU_SOURCE.
int runnel_pipe_cloexec(int fds[2]);
int runnel_memfd(const char *name);
int runnel_spawn_chdir(void *file_actions, const char *path);

#endif
