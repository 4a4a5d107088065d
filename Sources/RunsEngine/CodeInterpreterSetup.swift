import CodeInterpreter

/// The code interpreter as this node runs it: its sessions, or why it has none.
public struct CodeInterpreterSetup: Sendable {
    public var sessions: CodeSessions?
    /// Told in a run's `last_error` when its model calls the tool and there are no sessions.
    public var unavailableReason: String

    public init(sessions: CodeSessions?, unavailableReason: String) {
        self.sessions = sessions
        self.unavailableReason = unavailableReason
    }

    public static let off = CodeInterpreterSetup(sessions: nil, unavailableReason: "The code interpreter is not set up on this server.")

    /// The folder as the code sees it: `/mnt/data` in a level A sandbox; at level B (no mount
    /// namespace) the session folder is the working directory, so names are relative.
    var dataPath: String? { sessions?.level == .selfConfined ? nil : "/mnt/data" }
}
