import RunsDomain

/// Files in the vector stores of one project, and their batches.
public struct VectorStoreFileRepository {
    let connection: any SQLSession
    let project: String

    public init(_ connection: any SQLSession, project: String) {
        self.connection = connection
        self.project = project
    }

    static let columns = "vector_store_id, id, created_at, status, last_error, usage_bytes, chunking_strategy, attributes, batch_id"

    /// Adds a file for ingestion; a file already in the store is queued again with the new settings.
    public func upsert(_ file: VectorStoreFile) throws {
        try connection.run("DELETE FROM chunks WHERE vector_store_id = ? AND file_id = ?", [file.vectorStoreID.sqlite, file.fileID.sqlite])
        try connection.run("DELETE FROM vector_store_files WHERE vector_store_id = ? AND id = ?",
                           [file.vectorStoreID.sqlite, file.fileID.sqlite])
        try connection.run("""
            INSERT INTO vector_store_files (project, \(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [project.sqlite, file.vectorStoreID.sqlite, file.fileID.sqlite, file.createdAt.sqlite, file.status.rawValue.sqlite,
                  (file.lastError ?? .null).nullableColumnText, file.usageBytes.sqlite, file.chunking.stored.columnText,
                  file.attributes.columnText, file.batchID.sqlite])
    }

    public func find(store: String, file: String) throws -> VectorStoreFile? {
        try connection.queryOne("SELECT \(Self.columns) FROM vector_store_files WHERE vector_store_id = ? AND id = ? AND project = ?",
                                [store.sqlite, file.sqlite, project.sqlite], Self.decode)
    }

    public func list(store: String, batch: String? = nil, status: VectorStoreFileStatus?, _ query: ListQuery) throws -> Page<VectorStoreFile> {
        var select = "SELECT \(Self.columns) FROM vector_store_files WHERE vector_store_id = ? AND project = ?"
        var scope = [store.sqlite, project.sqlite]
        if let batch {
            select += " AND batch_id = ?"
            scope.append(batch.sqlite)
        }
        if let status {
            select += " AND status = ?"
            scope.append(status.rawValue.sqlite)
        }
        return try Pagination.page(connection, select: select, scope: scope, query: query, map: Self.decode)
    }

    public func updateAttributes(store: String, file: String, attributes: JSONValue) throws {
        try connection.run("UPDATE vector_store_files SET attributes = ? WHERE vector_store_id = ? AND id = ? AND project = ?",
                           [attributes.columnText, store.sqlite, file.sqlite, project.sqlite])
    }

    public func delete(store: String, file: String) throws -> Bool {
        try connection.run("DELETE FROM chunks WHERE vector_store_id = ? AND file_id = ?", [store.sqlite, file.sqlite])
        return try connection.run("DELETE FROM vector_store_files WHERE vector_store_id = ? AND id = ? AND project = ?",
                                  [store.sqlite, file.sqlite, project.sqlite]) > 0
    }

    /// Every file of the stores with its status and attributes, for a search to pick from.
    public func searchable(stores: [String]) throws -> [(store: String, file: String, status: VectorStoreFileStatus, attributes: JSONValue)] {
        var files: [(String, String, VectorStoreFileStatus, JSONValue)] = []
        for store in stores {
            files += try connection.query("""
                SELECT vector_store_id, id, status, attributes FROM vector_store_files WHERE vector_store_id = ? AND project = ?
                """, [store.sqlite, project.sqlite]) { row in
                (try row.string("vector_store_id"), try row.string("id"),
                 try row.enumeration("status", as: VectorStoreFileStatus.self), try row.json("attributes", default: [:]))
            }
        }
        return files
    }

    // MARK: Batches

    public func insertBatch(id: String, store: String, createdAt: Int) throws {
        try connection.run("INSERT INTO vector_store_file_batches (id, vector_store_id, project, created_at) VALUES (?, ?, ?, ?)",
                           [id.sqlite, store.sqlite, project.sqlite, createdAt.sqlite])
    }

    public func findBatch(store: String, id: String) throws -> VectorStoreFileBatch? {
        guard let (createdAt, cancelled) = try connection.queryOne("""
            SELECT created_at, cancelled FROM vector_store_file_batches WHERE id = ? AND vector_store_id = ? AND project = ?
            """, [id.sqlite, store.sqlite, project.sqlite], { (try $0.int("created_at"), try $0.int("cancelled") != 0) }) else {
            return nil
        }
        let counts = try Self.tally(connection, where: "batch_id = ?", [id.sqlite]).counts
        return VectorStoreFileBatch(id: id, vectorStoreID: store, createdAt: createdAt, cancelled: cancelled, counts: counts)
    }

    /// Files of the batch not yet ingested end `cancelled`, and what they had indexed goes.
    public func cancelBatch(store: String, id: String) throws {
        try connection.run("UPDATE vector_store_file_batches SET cancelled = 1 WHERE id = ? AND project = ?", [id.sqlite, project.sqlite])
        try connection.run("""
            DELETE FROM chunks WHERE vector_store_id = ? AND file_id IN
                (SELECT id FROM vector_store_files WHERE batch_id = ? AND status = 'in_progress')
            """, [store.sqlite, id.sqlite])
        try connection.run("""
            UPDATE vector_store_files SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
            WHERE batch_id = ? AND status = 'in_progress'
            """, [id.sqlite])
    }

    /// Files by status, and the bytes their chunks take, of the files `condition` picks.
    static func tally(_ connection: any SQLSession, where condition: String, _ values: [SQLValue]) throws -> (counts: FileCounts, bytes: Int) {
        let rows = try connection.query(
            "SELECT status, COUNT(*) AS n, CAST(COALESCE(SUM(usage_bytes), 0) AS BIGINT) AS bytes FROM vector_store_files WHERE \(condition) GROUP BY status",
            values) { row in (try row.string("status"), try row.int("n"), try row.int("bytes")) }
        var counts = FileCounts()
        for (status, count, _) in rows {
            if let status = VectorStoreFileStatus(rawValue: status) { counts.add(status, count) }
        }
        return (counts, rows.reduce(0) { $0 + $1.2 })
    }

    static func decode(_ row: any SQLRow) throws -> VectorStoreFile {
        let stored = try row.json("chunking_strategy")
        guard let chunking = ChunkingStrategy(stored: stored) else {
            throw CorruptRow(column: "chunking_strategy", problem: "does not hold a chunking strategy")
        }
        let lastError = try row.json("last_error")
        return VectorStoreFile(
            vectorStoreID: try row.string("vector_store_id"), fileID: try row.string("id"), createdAt: try row.int("created_at"),
            status: try row.enumeration("status", as: VectorStoreFileStatus.self), lastError: lastError.isNull ? JSONValue?.none : lastError,
            usageBytes: try row.int("usage_bytes"), chunking: chunking, attributes: try row.json("attributes", default: [:]),
            batchID: try row.optionalString("batch_id"))
    }
}
