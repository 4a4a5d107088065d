import RunsDomain

/// A node's hold on a run, until `expiresAt` (milliseconds since the epoch).
public struct RunLease: Sendable, Equatable {
    public var owner: String
    public var expiresAt: Int

    public init(owner: String, expiresAt: Int) {
        self.owner = owner
        self.expiresAt = expiresAt
    }
}

/// Which node executes which run. A node holds a run's lease until `lease_expires_at`
/// (milliseconds) and renews it while it works; a run whose lease ran out (its node died) is
/// claimed by another. The database arbitrates, so two nodes never execute one run.
public struct RunLeases {
    let connection: any SQLSession
    let owner: String

    public init(_ connection: any SQLSession, owner: String) {
        self.connection = connection
        self.owner = owner
    }

    /// Runs a lease can be claimed on: waiting to start, cut off mid-turn, or mid-cancel.
    static let claimable = "status IN ('queued', 'in_progress', 'cancelling')"

    /// Takes the run for this node (a run just created or resumed here).
    public func take(_ runID: String, until: Int) throws {
        try connection.run("UPDATE runs SET lease_owner = ?, lease_expires_at = ? WHERE id = ?",
                           [owner.sqlite, until.sqlite, runID.sqlite])
    }

    /// Claims up to `limit` runs nobody holds (oldest first); each with its status. On
    /// PostgreSQL, rows another node is claiming at this moment are skipped, not waited for.
    public func claim(now: Int, until: Int, limit: Int) throws -> [(id: String, status: RunStatus)] {
        let free = "(lease_expires_at IS NULL OR lease_expires_at < ?)"
        return try connection.query("""
            UPDATE runs SET lease_owner = ?, lease_expires_at = ?
            WHERE id IN (SELECT id FROM runs WHERE \(Self.claimable) AND \(free) ORDER BY id LIMIT ?\(connection.forUpdateSkipLocked))
                AND \(Self.claimable) AND \(free)
            RETURNING id, status
            """, [owner.sqlite, until.sqlite, now.sqlite, limit.sqlite, now.sqlite]) { row in
            (try row.string("id"), try row.enumeration("status", as: RunStatus.self))
        }
    }

    /// Extends every lease this node holds; the runs it still holds, with their statuses (a run
    /// missing here was taken over, or finished elsewhere).
    public func renew(until: Int) throws -> [(id: String, status: RunStatus)] {
        try connection.query("""
            UPDATE runs SET lease_expires_at = ? WHERE lease_owner = ? AND \(Self.claimable) RETURNING id, status
            """, [until.sqlite, owner.sqlite]) { row in
            (try row.string("id"), try row.enumeration("status", as: RunStatus.self))
        }
    }

    /// Gives the run up (it ended, waits for tool outputs, or this node is stopping).
    public func release(_ runID: String) throws {
        try connection.run("UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?",
                           [runID.sqlite, owner.sqlite])
    }

    /// Gives up every lease this node holds.
    public func releaseAll() throws {
        try connection.run("UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?", [owner.sqlite])
    }

    /// Every lease, whoever holds it: with one process per database file (SQLite), the holders
    /// of leases found at start-up are gone.
    public static func releaseEveryLease(_ connection: any SQLSession) throws {
        try connection.run("UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner IS NOT NULL", [])
    }

    /// Queued runs no node has taken: they wait for a free slot anywhere.
    public static func waitingCount(_ connection: any SQLSession, now: Int) throws -> Int {
        try connection.queryOne(
            "SELECT count(*) AS waiting FROM runs WHERE status = 'queued' AND (lease_expires_at IS NULL OR lease_expires_at < ?)",
            [now.sqlite]) { try $0.int("waiting") } ?? 0
    }

    /// Counts a model turn cut off before it ended; the new count.
    public static func countInterruption(_ connection: any SQLSession, runID: String) throws -> Int {
        try connection.queryOne("UPDATE runs SET interrupted_turns = interrupted_turns + 1 WHERE id = ? RETURNING interrupted_turns",
                                [runID.sqlite]) { try $0.int("interrupted_turns") } ?? 0
    }
}

