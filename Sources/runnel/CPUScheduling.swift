#if canImport(Glibc)
import Glibc
#endif

/// The kernel scheduling policy of the server's threads. Runnel's threads hand work to each other
/// all the time (I/O loop → database writer → run engine → I/O loop); under the default policy
/// every hand-off wakes the receiving thread and preempts the sender, so on a busy core a request
/// costs a dozen context switches. `SCHED_BATCH` lets a thread finish its time slice first, so
/// work piles up and each switch serves many requests: on one core, 23k switches/s fell to 3.7k
/// and streamed runs/s rose by a quarter (bench/runs.sh).
enum CPUScheduling {
    /// `SCHED_BATCH` from <linux/sched.h>; Glibc's module leaves it out (it needs _GNU_SOURCE).
    private static let batchPolicy: Int32 = 3

    /// Call before any thread starts: threads created later inherit the calling thread's policy.
    /// Returns why the policy could not be set, for the log.
    static func apply(_ mode: String) -> String? {
        guard mode == "batch" else { return nil }
        var parameters = sched_param()
        parameters.sched_priority = 0
        guard sched_setscheduler(0, batchPolicy, &parameters) == 0 else {
            return "could not switch to SCHED_BATCH (\(String(cString: strerror(errno)))); threads keep the default policy"
        }
        return nil
    }
}
