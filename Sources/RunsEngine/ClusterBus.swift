import RunsWire

/// What nodes sharing one database tell each other.
public enum ClusterMessage: Sendable {
    /// Events of a run executing on the sender, for streams and polls held on other nodes.
    case events(runID: String, [RunEvent])
    /// A cancel was stored for a run; the node executing it stops its model call.
    case cancel(runID: String)
    /// Runs wait for a free slot; a node with room claims them now instead of at its next tick.
    case work
}

/// The channel between nodes. Nodes find each other only through the database, so the
/// PostgreSQL bus rides on LISTEN/NOTIFY; a lone SQLite process has nobody to tell.
public protocol ClusterBus: Sendable {
    /// False for a process alone on its database: then nothing is worth preparing to send.
    var reachesOtherNodes: Bool { get }
    /// Starts listening; `deliver` gets every other node's messages, in each sender's order.
    func start(deliver: @escaping @Sendable (ClusterMessage) -> Void)
    func announce(_ message: ClusterMessage)
    func stop()
}

/// One process alone on its database.
public struct LocalBus: ClusterBus {
    public var reachesOtherNodes: Bool { false }
    public init() {}
    public func start(deliver: @escaping @Sendable (ClusterMessage) -> Void) {}
    public func announce(_ message: ClusterMessage) {}
    public func stop() {}
}
