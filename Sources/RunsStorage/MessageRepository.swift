import RunsDomain

/// Messages of one project's threads.
public struct MessageRepository {
    let connection: any SQLSession
    let project: String

    public init(_ connection: any SQLSession, project: String) {
        self.connection = connection
        self.project = project
    }

    private static let columns = """
        id, created_at, thread_id, status, incomplete_details, completed_at, incomplete_at, role, content,
        assistant_id, run_id, attachments, metadata
        """

    public func insert(_ message: Message) throws {
        try connection.run(
            "INSERT INTO messages (project, \(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [project.sqlite] + Self.values(message))
    }

    /// Rewrites everything but the identity; the run engine uses it as a message grows.
    public func update(_ message: Message) throws {
        try connection.run("""
            UPDATE messages SET status = ?, incomplete_details = ?, completed_at = ?, incomplete_at = ?, role = ?,
                content = ?, assistant_id = ?, run_id = ?, attachments = ?, metadata = ?
            WHERE id = ? AND project = ?
            """, Array(Self.values(message).dropFirst(3)) + [message.id.sqlite, project.sqlite])
    }

    public func find(_ id: String, threadID: String) throws -> Message? {
        try connection.queryOne(
            "SELECT \(Self.columns) FROM messages WHERE id = ? AND thread_id = ? AND project = ?",
            [id.sqlite, threadID.sqlite, project.sqlite], Self.decode)
    }

    public func delete(_ id: String, threadID: String) throws -> Bool {
        try connection.run("DELETE FROM messages WHERE id = ? AND thread_id = ? AND project = ?",
                           [id.sqlite, threadID.sqlite, project.sqlite]) > 0
    }

    /// Every message of the thread, oldest first (what the model sees).
    public func all(threadID: String) throws -> [Message] {
        try connection.query("SELECT \(Self.columns) FROM messages WHERE thread_id = ? AND project = ? ORDER BY id",
                             [threadID.sqlite, project.sqlite], Self.decode)
    }

    /// A run's messages that are still being written.
    public func open(runID: String) throws -> [Message] {
        try connection.query("SELECT \(Self.columns) FROM messages WHERE run_id = ? AND status = 'in_progress' ORDER BY id",
                             [runID.sqlite], Self.decode)
    }

    /// Removes a run's messages still being written: a turn cut off mid-answer is executed
    /// again, and its partial message must not remain beside the new one.
    public func deleteOpen(runID: String) throws {
        try connection.run("DELETE FROM messages WHERE run_id = ? AND status = 'in_progress'", [runID.sqlite])
    }

    public func list(threadID: String, runID: String? = nil, _ query: ListQuery) throws -> Page<Message> {
        var select = "SELECT \(Self.columns) FROM messages WHERE thread_id = ? AND project = ?"
        var scope: [SQLValue] = [threadID.sqlite, project.sqlite]
        if let runID {
            select += " AND run_id = ?"
            scope.append(runID.sqlite)
        }
        return try Pagination.page(connection, select: select, scope: scope, query: query, map: Self.decode)
    }

    private static func values(_ message: Message) -> [SQLValue] {
        [
            message.id.sqlite, message.createdAt.sqlite, message.threadID.sqlite, message.status.rawValue.sqlite,
            message.incompleteDetails.nullableColumnText, message.completedAt.sqlite, message.incompleteAt.sqlite,
            message.role.rawValue.sqlite, JSONValue.array(message.content).columnText, message.assistantID.sqlite,
            message.runID.sqlite, message.attachments.nullableColumnText, message.metadata.columnText,
        ]
    }

    private static func decode(_ row: any SQLRow) throws -> Message {
        Message(
            id: try row.string("id"), createdAt: try row.int("created_at"), threadID: try row.string("thread_id"),
            status: try row.enumeration("status", as: MessageStatus.self),
            incompleteDetails: try row.json("incomplete_details"), completedAt: try row.optionalInt("completed_at"),
            incompleteAt: try row.optionalInt("incomplete_at"), role: try row.enumeration("role", as: MessageRole.self),
            content: try row.json("content").arrayValue ?? [],
            assistantID: try row.optionalString("assistant_id"), runID: try row.optionalString("run_id"),
            attachments: try row.json("attachments", default: []),
            metadata: try row.json("metadata", default: [:]))
    }
}
