/// How isolated a session is. A: bubblewrap with every namespace unshared. B: where namespaces
/// are refused, the child confines itself (Landlock, seccomp, rlimits) before it runs Python.
public enum SandboxLevel: String, Sendable, CaseIterable {
    case bubblewrap = "a"
    case selfConfined = "b"

    public var label: String {
        switch self {
        case .bubblewrap: "level A (bubblewrap: every namespace unshared, seccomp, rlimits)"
        case .selfConfined: "level B (Landlock, seccomp and rlimits applied by the child itself; no namespaces)"
        }
    }
}

/// The bounds of a code interpreter session and of each call in it.
public struct SandboxLimits: Sendable {
    /// Wall time of one call; then it is interrupted (KeyboardInterrupt), keeping the session.
    public var callSeconds: Double = 60
    /// After the interrupt, how long before the session is killed and reset.
    public var killGraceSeconds: Double = 5
    /// Address space of the session's processes (so a large allocation gets MemoryError).
    public var memoryBytes: Int = 1 << 30
    /// Logs handed back per call; the rest is cut and marked truncated.
    public var logBytes: Int = 20_000
    /// The session folder (and each file written anywhere).
    public var folderBytes: Int = 512 << 20
    /// The session's own /tmp.
    public var tmpBytes: Int = 64 << 20
    public var openFiles: Int = 256
    /// Processes and threads the session may run at once (a fork bomb stops here).
    public var processes: Int = 64
    /// CPU time over the session's life.
    public var cpuSeconds: Int = 3600
    public var maxSessions: Int = 8
    public var idleSeconds: Double = 1200
    public var maxAgeSeconds: Double = 3600

    public init() {}
}

/// Where the programs a session needs are.
public struct SandboxPrograms: Sendable {
    /// The Python that runs sessions (a venv's python keeps its venv).
    public var python: String
    /// This binary, whose `sandbox-exec` mode confines a child before it runs anything.
    public var helper: String
    public var bubblewrap: String?

    public init(python: String, helper: String, bubblewrap: String?) {
        self.python = python
        self.helper = helper
        self.bubblewrap = bubblewrap
    }
}
