import RunsDomain

/// A vector store file a node has claimed for ingestion.
public struct IngestionClaim: Sendable, Equatable {
    public var project: String
    public var store: String
    public var file: String
    public var chunking: ChunkingStrategy
}

/// The vector store files waiting to be ingested, shared by every node: a worker claims one with
/// a lease and renews it while it works, so a file whose node died is taken up again, and a file
/// interrupted too often fails instead of being retried for ever.
public enum IngestionQueue {
    /// Claims the oldest waiting file whose lease is free or ran out (a file over its attempts
    /// fails on the way).
    public static func claim(_ db: any SQLSession, node: String, nowMilliseconds: Int, leaseMilliseconds: Int,
                             maxAttempts: Int) throws -> IngestionClaim? {
        while true {
            guard let row = try db.queryOne("""
                SELECT project, vector_store_id, id, chunking_strategy, attempts FROM vector_store_files
                WHERE status = 'in_progress' AND (lease_expires_at IS NULL OR lease_expires_at < ?)
                ORDER BY created_at, id LIMIT 1\(db.forUpdateSkipLocked)
                """, [nowMilliseconds.sqlite], { row in
                (try row.string("project"), try row.string("vector_store_id"), try row.string("id"),
                 try row.json("chunking_strategy"), try row.int("attempts"))
            }) else { return nil }
            let (project, store, file, stored, attempts) = row
            guard attempts < maxAttempts, let chunking = ChunkingStrategy(stored: stored) else {
                try finish(db, store: store, file: file, node: nil, status: .failed, usageBytes: 0, error: [
                    "code": "server_error",
                    "message": .string("Ingestion of this file was interrupted \(attempts) times (a Runnel node stopped mid-way); it was given up."),
                ])
                continue
            }
            try db.run("""
                UPDATE vector_store_files SET lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
                WHERE vector_store_id = ? AND id = ?
                """, [node.sqlite, (nowMilliseconds + leaseMilliseconds).sqlite, store.sqlite, file.sqlite])
            return IngestionClaim(project: project, store: store, file: file, chunking: chunking)
        }
    }

    /// Extends the lease; false when the file is no longer this node's to ingest (deleted,
    /// cancelled, or taken over), and the worker must stop.
    public static func renew(_ db: any SQLSession, _ claim: IngestionClaim, node: String, until: Int) throws -> Bool {
        try db.run("""
            UPDATE vector_store_files SET lease_expires_at = ?
            WHERE vector_store_id = ? AND id = ? AND status = 'in_progress' AND lease_owner = ?
            """, [until.sqlite, claim.store.sqlite, claim.file.sqlite, node.sqlite]) > 0
    }

    /// Ends the file's ingestion; with `node`, only if this node still holds it.
    @discardableResult
    public static func finish(_ db: any SQLSession, store: String, file: String, node: String?, status: VectorStoreFileStatus,
                              usageBytes: Int, error: JSONValue?) throws -> Bool {
        var sql = """
            UPDATE vector_store_files SET status = ?, usage_bytes = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL
            WHERE vector_store_id = ? AND id = ? AND status = 'in_progress'
            """
        var values: [SQLValue] = [status.rawValue.sqlite, usageBytes.sqlite, (error ?? .null).nullableColumnText, store.sqlite, file.sqlite]
        if let node {
            sql += " AND lease_owner = ?"
            values.append(node.sqlite)
        }
        return try db.run(sql, values) > 0
    }

    /// At start of a lone node (SQLite): every lease is from a process that is gone.
    public static func releaseAll(_ db: any SQLSession) throws {
        try db.run("UPDATE vector_store_files SET lease_expires_at = NULL WHERE status = 'in_progress'", [])
    }
}
