import Glibc
import RunsDomain

/// A helper program run to its end with a time limit, with nothing to read or say: standard
/// input, output and error are /dev/null, and its environment is a PATH only.
enum ChildProcess {
    enum Outcome: Equatable {
        /// Exited with this status (128 + the signal's number when a signal ended it).
        case exited(Int32)
        /// Still running at the deadline; it was killed.
        case timedOut
    }

    static func run(_ arguments: [String], timeoutSeconds: Double) throws -> Outcome {
        let child = try spawn(arguments)
        if let status = wait(child, seconds: timeoutSeconds) { return .exited(status) }
        kill(child, SIGKILL)
        _ = wait(child, seconds: 5)
        return .timedOut
    }

    private static func spawn(_ arguments: [String]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in 0...2 {
            posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let argv = arguments.map { strdup($0) } + [nil]
        let environment: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer { (argv + environment).forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, arguments[0], &actions, nil, argv, environment)
        guard status == 0 else { throw SystemError("start \(arguments[0])", code: status) }
        return child
    }

    /// The child's exit status once it ends, or nil if it is still running after `seconds`.
    private static func wait(_ child: pid_t, seconds: Double) -> Int32? {
        var remaining = Int(seconds * 100)
        while true {
            var status: Int32 = 0
            let reaped = waitpid(child, &status, WNOHANG)
            if reaped == child {
                // WIFEXITED and friends are macros, which Swift does not import.
                let signal = status & 0x7F
                return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            }
            if reaped < 0, errno != EINTR { return -1 }
            if remaining <= 0 { return nil }
            remaining -= 1
            usleep(10_000)
        }
    }
}
