import CSandbox
import FoundationEssentials
import RunsDomain
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What one call of the code interpreter gave back.
public struct CodeResult: Sendable, Equatable {
    public var logs: String
    public var truncated: Bool
    /// The exception the code ended with, if any (its traceback is in the logs).
    public var error: String?
    /// The call ran past its time and was interrupted; the session and its variables remain.
    public var interrupted: Bool
    /// The session was killed (it did not stop when interrupted, or it died) and starts anew.
    public var reset: Bool
    /// Figures saved as PNG, relative to the session folder.
    public var figures: [String]
}

/// One sandboxed Python process and its folder. Calls run one at a time; each is a line of JSON
/// written to the driver and one read back, with the call's wall-time limit enforced here.
///
/// `@unchecked Sendable`: the descriptors and `pid` are set once in `start`; calls are
/// serialized by `CodeSessions`, and `kill` only signals the process group.
final class CodeSession: @unchecked Sendable {
    let launch: SandboxLaunch
    private(set) var pid: pid_t = 0
    private var input: Int32 = -1
    private var output: Int32 = -1
    private var errors: Int32 = -1
    private var pending: [UInt8] = []
    private let dead = Atomic<Bool>(false)
    let startedAt = Date()
    var lastUsed = Date()

    init(launch: SandboxLaunch) {
        self.launch = launch
    }

    var isAlive: Bool { !dead.load(ordering: .acquiring) }

    func start() throws {
        var stdinPipe: [Int32] = [0, 0], stdoutPipe: [Int32] = [0, 0], stderrPipe: [Int32] = [0, 0]
        guard runnel_pipe_cloexec(&stdinPipe) == 0, runnel_pipe_cloexec(&stdoutPipe) == 0, runnel_pipe_cloexec(&stderrPipe) == 0 else {
            throw SandboxError("pipe2 failed: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        runnel_spawn_chdir(&actions, launch.folder)
        let program = launch.arguments
        // The spawning thread (a Dispatch worker) blocks signals and the server ignores some; the
        // sandbox starts with none blocked and every one at its default, or the interrupt
        // (SIGINT) would never reach the code.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let (child, status) = Self.spawn(program, actions: actions, attributes: attributes)
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard status == 0 else {
            [stdinPipe[1], stdoutPipe[0], stderrPipe[0]].forEach { close($0) }
            throw SandboxError("could not start the sandbox: \(String(cString: strerror(status)))")
        }
        pid = child
        input = stdinPipe[1]
        output = stdoutPipe[0]
        errors = stderrPipe[0]
        _ = fcntl(errors, F_SETFL, fcntl(errors, F_GETFL) | O_NONBLOCK)
    }

    /// Starts `program` from the spawn thread (see `SpawnThread`).
    private static func spawn(_ program: [String], actions: posix_spawn_file_actions_t,
                              attributes: posix_spawnattr_t) -> (pid_t, Int32) {
        nonisolated(unsafe) let actions = actions
        return SpawnThread.shared.run {
            var actions = actions, attributes = attributes
            let arguments = program.map { strdup($0) } + [nil]
            let environment: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
            defer { (arguments + environment).forEach { free($0) } }
            var child: pid_t = 0
            let status = posix_spawn(&child, program[0], &actions, &attributes, arguments, environment)
            return (child, status)
        }
    }

    /// Runs `code`, blocking the calling thread until its answer, the interrupt, or the kill.
    func execute(_ code: String) -> CodeResult {
        lastUsed = Date()
        defer { lastUsed = Date() }
        guard isAlive, send(["code": .string(code)]) else { return died("The session had ended; it starts anew.") }
        let limits = launch.limits
        let interruptAt = Date().addingTimeInterval(limits.callSeconds)
        let killAt = interruptAt.addingTimeInterval(limits.killGraceSeconds)
        var interrupted = false
        while true {
            if let line = nextLine() { return decode(line, interrupted: interrupted) }
            let now = Date()
            if !interrupted, now >= interruptAt {
                interrupted = true
                _ = send(["interrupt": true])
                continue
            }
            if now >= killAt {
                kill()
                return died("The code ran past \(Int(limits.callSeconds)) s and did not stop when interrupted; the session was reset (its variables and files in /tmp are gone).")
            }
            let deadline = interrupted ? killAt : interruptAt
            guard wait(until: deadline) else {
                return died("The session's Python process ended (for example it ran out of memory or exited); it starts anew.\(diagnostics())")
            }
        }
    }

    /// Ends the session's processes.
    func kill() {
        guard !dead.exchange(true, ordering: .acquiringAndReleasing), pid > 0 else { return }
        // The helper made itself a session leader: the group holds the sandbox's every process.
        Glibc.kill(-pid, SIGKILL)
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        [input, output, errors].forEach { close($0) }
    }

    private func send(_ message: JSONValue) -> Bool {
        let line = message.serialized() + [10]
        var offset = 0
        while offset < line.count {
            let written = line.withUnsafeBytes { write(input, $0.baseAddress! + offset, line.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// The most one answer may take; a driver that writes more is broken or tampered with.
    static let maxAnswerBytes = 4 << 20

    private func nextLine() -> [UInt8]? {
        guard let end = pending.firstIndex(of: 10) else { return nil }
        let line = Array(pending[..<end])
        pending.removeSubrange(...end)
        return line
    }

    /// Reads what the driver wrote; false when it closed its end or wrote too much.
    private func wait(until deadline: Date) -> Bool {
        var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(0, min(deadline.timeIntervalSinceNow * 1000, 1000)).rounded(.up))
        let ready = poll(&descriptor, 1, milliseconds)
        guard ready > 0 else { return ready == 0 || errno == EINTR }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = read(output, &buffer, buffer.count)
        if count < 0 { return errno == EINTR || errno == EAGAIN }
        guard count > 0, pending.count + count <= Self.maxAnswerBytes else { return false }
        pending += buffer[0..<count]
        return true
    }

    private func decode(_ line: [UInt8], interrupted: Bool) -> CodeResult {
        guard let answer = try? JSONValue.parse(line), let logs = answer["logs"]?.stringValue else {
            kill()
            return died("The session answered something unreadable; it starts anew.")
        }
        let figures = (answer["figures"]?.arrayValue ?? []).compactMap { $0.stringValue }.compactMap(figure)
        return CodeResult(logs: logs, truncated: answer["truncated"] == .bool(true), error: answer["error"]?.stringValue,
                          interrupted: interrupted || answer["interrupted"] == .bool(true), reset: false, figures: figures)
    }

    /// A figure the driver reports, if it is a regular file directly in the figures folder; the
    /// name is all that is taken from inside the sandbox.
    private func figure(_ reported: String) -> String? {
        let name = URL(fileURLWithPath: reported).lastPathComponent
        guard !name.isEmpty, !name.hasPrefix("."), name.hasSuffix(".png") else { return nil }
        let relative = PythonDriver.figuresFolder + "/" + name
        var info = stat()
        guard lstat(launch.folder + "/" + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return relative
    }

    private func died(_ message: String) -> CodeResult {
        kill()
        return CodeResult(logs: "", truncated: false, error: message, interrupted: false, reset: true, figures: [])
    }

    /// What the sandbox wrote to its stderr (bubblewrap's or the helper's complaints), briefly.
    private func diagnostics() -> String {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let count = read(errors, &buffer, buffer.count)
        guard count > 0 else { return "" }
        return " Its last words: " + String(decoding: buffer[0..<count], as: UTF8.self).trimmed
    }
}
