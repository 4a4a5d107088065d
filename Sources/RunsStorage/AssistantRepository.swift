import RunsDomain

/// Assistants of one project.
public struct AssistantRepository {
    let connection: SQLiteConnection
    let project: String

    public init(_ connection: SQLiteConnection, project: String) {
        self.connection = connection
        self.project = project
    }

    private static let columns = """
        id, created_at, name, description, model, instructions, tools, tool_resources, metadata,
        temperature, top_p, response_format, reasoning_effort
        """

    public func insert(_ assistant: Assistant) throws {
        try connection.run(
            "INSERT INTO assistants (project, \(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [project.sqlite] + Self.values(assistant))
    }

    public func update(_ assistant: Assistant) throws {
        try connection.run("""
            UPDATE assistants SET name = ?, description = ?, model = ?, instructions = ?, tools = ?,
                tool_resources = ?, metadata = ?, temperature = ?, top_p = ?, response_format = ?, reasoning_effort = ?
            WHERE id = ? AND project = ?
            """, Array(Self.values(assistant).dropFirst(2)) + [assistant.id.sqlite, project.sqlite])
    }

    public func find(_ id: String) throws -> Assistant? {
        try connection.queryOne("SELECT \(Self.columns) FROM assistants WHERE id = ? AND project = ?",
                                [id.sqlite, project.sqlite], Self.decode)
    }

    public func delete(_ id: String) throws -> Bool {
        try connection.run("DELETE FROM assistants WHERE id = ? AND project = ?", [id.sqlite, project.sqlite]) > 0
    }

    public func list(_ query: ListQuery) throws -> Page<Assistant> {
        try Pagination.page(connection, select: "SELECT \(Self.columns) FROM assistants WHERE project = ?",
                            scope: [project.sqlite], query: query, map: Self.decode)
    }

    private static func values(_ assistant: Assistant) -> [SQLiteValue] {
        [
            assistant.id.sqlite, assistant.createdAt.sqlite, assistant.name.sqlite, assistant.description.sqlite,
            assistant.model.sqlite, assistant.instructions.sqlite, JSONValue.array(assistant.tools).columnText,
            assistant.toolResources.nullableColumnText, assistant.metadata.columnText, assistant.temperature.sqlite,
            assistant.topP.sqlite, assistant.responseFormat.nullableColumnText, assistant.reasoningEffort.sqlite,
        ]
    }

    private static func decode(_ row: SQLiteRow) -> Assistant {
        var tools: [JSONValue] = []
        if case .array(let items) = JSONValue.column(row.string(6)) { tools = items }
        return Assistant(
            id: row.string(0), createdAt: row.int(1), name: row.optionalString(2), description: row.optionalString(3),
            model: row.string(4), instructions: row.optionalString(5), tools: tools,
            toolResources: JSONValue.column(row.optionalString(7)), metadata: JSONValue.column(row.string(8), default: [:]),
            temperature: row.double(9), topP: row.double(10),
            responseFormat: JSONValue.column(row.optionalString(11), default: "auto"), reasoningEffort: row.optionalString(12))
    }
}
