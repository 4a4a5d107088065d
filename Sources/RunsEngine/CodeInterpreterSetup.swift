import CodeInterpreter
import FoundationEssentials
import Synchronization

/// The code interpreter as this node runs it: its sessions, or why it has none. Which sandbox
/// works is found by a probe that runs after the server listens (it starts Python, which may
/// take a moment); a run that needs the answer before then waits for it.
public final class CodeInterpreterSetup: Sendable {
    public enum State: Sendable {
        case probing
        case ready(CodeSessions)
        /// Told in a run's `last_error` when it needs the tool.
        case unavailable(String)
    }

    private let state: Mutex<State>
    private let probe: (@Sendable () async -> State)?

    /// - Parameter probe: finds the sessions (or the reason there are none); run by `start`.
    public init(probe: @escaping @Sendable () async -> State) {
        state = Mutex(.probing)
        self.probe = probe
    }

    private init(state: State) {
        self.state = Mutex(state)
        probe = nil
    }

    public static func unavailable(_ reason: String) -> CodeInterpreterSetup { CodeInterpreterSetup(state: .unavailable(reason)) }

    public static var off: CodeInterpreterSetup { unavailable("The code interpreter is not set up on this server.") }

    public func start() {
        guard let probe else { return }
        Task { [self] in
            let found = await probe()
            state.withLock { $0 = found }
        }
    }

    /// The sessions, or the reason there are none, once the probe has answered.
    func current() async -> (sessions: CodeSessions?, reason: String) {
        while true {
            switch state.withLock({ $0 }) {
            case .ready(let sessions): return (sessions, "")
            case .unavailable(let reason): return (nil, reason)
            case .probing: try? await Task.sleep(nanoseconds: 20_000_000)
            }
        }
    }

    /// Ends every session (at shutdown).
    public func shutdown() {
        if case .ready(let sessions) = state.withLock({ $0 }) { sessions.shutdown() }
    }

    /// The folder as the code sees it: `/mnt/data` in a level A sandbox; at level B (no mount
    /// namespace) the session folder is the working directory, so names are relative.
    static func dataPath(_ sessions: CodeSessions) -> String? { sessions.level == .selfConfined ? nil : "/mnt/data" }
}
