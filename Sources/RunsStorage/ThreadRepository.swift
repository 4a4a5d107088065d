import RunsDomain

/// Threads of one project.
public struct ThreadRepository {
    let connection: any SQLSession
    let project: String

    public init(_ connection: any SQLSession, project: String) {
        self.connection = connection
        self.project = project
    }

    public func insert(_ thread: ChatThread) throws {
        try connection.run(
            "INSERT INTO threads (id, project, created_at, tool_resources, metadata) VALUES (?, ?, ?, ?, ?)",
            [thread.id.sqlite, project.sqlite, thread.createdAt.sqlite, thread.toolResources.nullableColumnText,
             thread.metadata.columnText])
    }

    public func update(_ thread: ChatThread) throws {
        try connection.run("UPDATE threads SET tool_resources = ?, metadata = ? WHERE id = ? AND project = ?",
                           [thread.toolResources.nullableColumnText, thread.metadata.columnText, thread.id.sqlite, project.sqlite])
    }

    public func find(_ id: String) throws -> ChatThread? {
        try connection.queryOne(
            "SELECT id, created_at, tool_resources, metadata FROM threads WHERE id = ? AND project = ?",
            [id.sqlite, project.sqlite], Self.decode)
    }

    /// The project's threads by id (time) order. OpenAI's API has no such list; Runnel's
    /// inspector browses threads with it.
    public func list(_ query: ListQuery) throws -> Page<ChatThread> {
        try Pagination.page(connection, select: "SELECT id, created_at, tool_resources, metadata FROM threads WHERE project = ?",
                            scope: [project.sqlite], query: query, map: Self.decode)
    }

    private static func decode(_ row: any SQLRow) throws -> ChatThread {
        ChatThread(id: try row.string("id"), createdAt: try row.int("created_at"), toolResources: try row.json("tool_resources"),
                   metadata: try row.json("metadata", default: [:]))
    }

    /// Deletes the thread with its messages, runs and run steps (foreign keys cascade).
    public func delete(_ id: String) throws -> Bool {
        try connection.run("DELETE FROM threads WHERE id = ? AND project = ?", [id.sqlite, project.sqlite]) > 0
    }
}
