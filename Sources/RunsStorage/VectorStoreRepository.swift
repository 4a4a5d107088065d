import RunsDomain

/// Vector stores of one project.
public struct VectorStoreRepository {
    let connection: any SQLSession
    let project: String

    public init(_ connection: any SQLSession, project: String) {
        self.connection = connection
        self.project = project
    }

    private static let columns = "id, created_at, name, metadata, expires_after, last_active_at"

    public func insert(_ store: VectorStore) throws {
        try connection.run("""
            INSERT INTO vector_stores (project, \(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [project.sqlite, store.id.sqlite, store.createdAt.sqlite, store.name.sqlite, store.metadata.columnText,
                  (store.expiresAfter ?? .null).nullableColumnText, store.lastActiveAt.sqlite])
    }

    public func update(_ store: VectorStore) throws {
        try connection.run("""
            UPDATE vector_stores SET name = ?, metadata = ?, expires_after = ?, last_active_at = ? WHERE id = ? AND project = ?
            """, [store.name.sqlite, store.metadata.columnText, (store.expiresAfter ?? .null).nullableColumnText,
                  store.lastActiveAt.sqlite, store.id.sqlite, project.sqlite])
    }

    public func find(_ id: String) throws -> VectorStore? {
        try connection.queryOne("SELECT \(Self.columns) FROM vector_stores WHERE id = ? AND project = ?",
                                [id.sqlite, project.sqlite], Self.decode)
    }

    public func list(_ query: ListQuery) throws -> Page<VectorStore> {
        try Pagination.page(connection, select: "SELECT \(Self.columns) FROM vector_stores WHERE project = ?",
                            scope: [project.sqlite], query: query, map: Self.decode)
    }

    /// Deletes the store with its files' places in it and their chunks (the files themselves stay).
    public func delete(_ id: String) throws -> Bool {
        guard try find(id) != nil else { return false }
        try connection.run("DELETE FROM chunks WHERE vector_store_id = ?", [id.sqlite])
        return try connection.run("DELETE FROM vector_stores WHERE id = ? AND project = ?", [id.sqlite, project.sqlite]) > 0
    }

    /// Marks the stores used now (a search, a run), which pushes back their expiry.
    public func touch(_ ids: [String], now: Int) throws {
        for id in ids {
            try connection.run("UPDATE vector_stores SET last_active_at = ? WHERE id = ? AND project = ? AND last_active_at < ?",
                               [now.sqlite, id.sqlite, project.sqlite, now.sqlite])
        }
    }

    /// Files of the store by status, and the bytes its chunks take.
    public func usage(_ id: String) throws -> (counts: FileCounts, bytes: Int) {
        try VectorStoreFileRepository.tally(connection, where: "vector_store_id = ?", [id.sqlite])
    }

    private static func decode(_ row: any SQLRow) throws -> VectorStore {
        let expiresAfter = try row.json("expires_after")
        return VectorStore(id: try row.string("id"), createdAt: try row.int("created_at"), name: try row.optionalString("name"),
                           metadata: try row.json("metadata", default: [:]), expiresAfter: expiresAfter.isNull ? JSONValue?.none : expiresAfter,
                           lastActiveAt: try row.int("last_active_at"))
    }
}
