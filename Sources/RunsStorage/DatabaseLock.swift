import Glibc

/// Tells a running server's SQLite file from a resting one. `runnel serve` holds a shared
/// `flock` on the file for as long as it runs; `runnel restore` replaces a file only while it
/// holds the exclusive one. flock is separate from the POSIX record locks SQLite itself takes.
///
/// The descriptor stays open for the lock's lifetime: closing any descriptor of a file would
/// drop the process's POSIX locks on it, SQLite's included, so a server's lock is never closed.
public final class DatabaseLock: Sendable {
    private let fd: Int32

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit { close(fd) }

    /// The lock a server holds; nil while a restore holds the file.
    public static func serving(_ path: String) -> DatabaseLock? {
        take(path, LOCK_SH)
    }

    /// The lock a restore takes; nil while a server (or another restore) holds the file.
    public static func replacing(_ path: String) -> DatabaseLock? {
        take(path, LOCK_EX)
    }

    private static func take(_ path: String, _ mode: Int32) -> DatabaseLock? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard flock(fd, mode | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return DatabaseLock(fd: fd)
    }
}
