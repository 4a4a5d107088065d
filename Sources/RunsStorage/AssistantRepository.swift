import RunsDomain

/// Assistants of one project.
public struct AssistantRepository {
    let connection: any SQLSession
    let project: String

    public init(_ connection: any SQLSession, project: String) {
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

    private static func values(_ assistant: Assistant) -> [SQLValue] {
        [
            assistant.id.sqlite, assistant.createdAt.sqlite, assistant.name.sqlite, assistant.description.sqlite,
            assistant.model.sqlite, assistant.instructions.sqlite, JSONValue.array(assistant.tools).columnText,
            assistant.toolResources.nullableColumnText, assistant.metadata.columnText, assistant.temperature.sqlite,
            assistant.topP.sqlite, assistant.responseFormat.nullableColumnText, assistant.reasoningEffort.sqlite,
        ]
    }

    private static func decode(_ row: any SQLRow) throws -> Assistant {
        Assistant(
            id: try row.string("id"), createdAt: try row.int("created_at"), name: try row.optionalString("name"),
            description: try row.optionalString("description"), model: try row.string("model"),
            instructions: try row.optionalString("instructions"), tools: try row.json("tools").arrayValue ?? [],
            toolResources: try row.json("tool_resources"), metadata: try row.json("metadata", default: [:]),
            temperature: try row.double("temperature"), topP: try row.double("top_p"),
            responseFormat: try row.json("response_format", default: "auto"),
            reasoningEffort: try row.optionalString("reasoning_effort"))
    }
}
