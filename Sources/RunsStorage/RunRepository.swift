import RunsDomain

/// Runs of one project (or of every project, for the engine's recovery and sweeps).
public struct RunRepository {
    let connection: SQLiteConnection
    let project: String?

    /// - Parameter project: nil only for the engine, which works across projects.
    public init(_ connection: SQLiteConnection, project: String?) {
        self.connection = connection
        self.project = project
    }

    static let columns = """
        id, created_at, thread_id, assistant_id, status, required_action, last_error, expires_at, started_at,
        cancelled_at, failed_at, completed_at, incomplete_details, model, instructions, tools, metadata, usage,
        temperature, top_p, max_prompt_tokens, max_completion_tokens, truncation_strategy, tool_choice,
        parallel_tool_calls, response_format, reasoning_effort, version, project
        """

    private var projectFilter: String { project == nil ? "" : " AND project = ?" }
    private var projectValue: [SQLiteValue] { project.map { [$0.sqlite] } ?? [] }

    public func insert(_ run: Run, project: String) throws {
        try connection.run(
            "INSERT INTO runs (\(Self.columns)) VALUES (\(Array(repeating: "?", count: 29).joined(separator: ", ")))",
            Self.values(run) + [project.sqlite])
    }

    /// Stores `run` only if nobody changed it since `expectedVersion` was read.
    public func compareAndSet(_ run: Run, expectedVersion: Int) throws -> Bool {
        try connection.run("""
            UPDATE runs SET created_at = ?2, thread_id = ?3, assistant_id = ?4, status = ?5, required_action = ?6,
                last_error = ?7, expires_at = ?8, started_at = ?9, cancelled_at = ?10, failed_at = ?11, completed_at = ?12,
                incomplete_details = ?13, model = ?14, instructions = ?15, tools = ?16, metadata = ?17, usage = ?18,
                temperature = ?19, top_p = ?20, max_prompt_tokens = ?21, max_completion_tokens = ?22,
                truncation_strategy = ?23, tool_choice = ?24, parallel_tool_calls = ?25, response_format = ?26,
                reasoning_effort = ?27, version = ?28
            WHERE id = ?1 AND version = ?29
            """, Self.values(run) + [expectedVersion.sqlite]) > 0
    }

    public func find(_ id: String, threadID: String? = nil) throws -> Run? {
        var sql = "SELECT \(Self.columns) FROM runs WHERE id = ?"
        var values: [SQLiteValue] = [id.sqlite]
        if let threadID {
            sql += " AND thread_id = ?"
            values.append(threadID.sqlite)
        }
        return try connection.queryOne(sql + projectFilter, values + projectValue, Self.decode)
    }

    public func list(threadID: String, _ query: ListQuery) throws -> Page<Run> {
        try Pagination.page(connection, select: "SELECT \(Self.columns) FROM runs WHERE thread_id = ?\(projectFilter)",
                            scope: [threadID.sqlite] + projectValue, query: query, map: Self.decode)
    }

    /// The run that locks the thread, if any.
    public func activeRun(threadID: String) throws -> Run? {
        try connection.queryOne(
            "SELECT \(Self.columns) FROM runs WHERE thread_id = ? AND status IN ('queued', 'in_progress', 'requires_action', 'cancelling') ORDER BY id DESC LIMIT 1",
            [threadID.sqlite], Self.decode)
    }

    /// Every unfinished run with its project, oldest first, for recovery after a restart.
    public func unfinished() throws -> [(run: Run, project: String)] {
        try connection.query(
            "SELECT \(Self.columns) FROM runs WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling') ORDER BY id",
            [], { (Self.decode($0), $0.string(28)) })
    }

    /// Unfinished runs (with their projects) whose `expires_at` has passed.
    public func expired(now: Int) throws -> [(run: Run, project: String)] {
        try connection.query(
            "SELECT \(Self.columns) FROM runs WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling') AND expires_at <= ? ORDER BY id",
            [now.sqlite], { (Self.decode($0), $0.string(28)) })
    }

    /// A run with the project it belongs to, in one read (the engine writes the run's messages
    /// in that project).
    public func findWithProject(_ id: String) throws -> (run: Run, project: String)? {
        try connection.queryOne("SELECT \(Self.columns) FROM runs WHERE id = ?\(projectFilter)", [id.sqlite] + projectValue) {
            (Self.decode($0), $0.string(28))
        }
    }

    static func values(_ run: Run) -> [SQLiteValue] {
        [
            run.id.sqlite, run.createdAt.sqlite, run.threadID.sqlite, run.assistantID.sqlite, run.status.rawValue.sqlite,
            run.requiredAction.map { JSONValue.array($0.map(\.stored)).columnText } ?? .null,
            run.lastError.map { $0.stored.columnText } ?? .null,
            run.expiresAt.sqlite, run.startedAt.sqlite, run.cancelledAt.sqlite, run.failedAt.sqlite, run.completedAt.sqlite,
            run.incompleteReason.sqlite, run.model.sqlite, run.instructions.sqlite, JSONValue.array(run.tools).columnText,
            run.metadata.columnText, run.usage.map { $0.stored.columnText } ?? .null, run.temperature.sqlite, run.topP.sqlite,
            run.maxPromptTokens.sqlite, run.maxCompletionTokens.sqlite, run.truncationStrategy.columnText,
            run.toolChoice.columnText, (run.parallelToolCalls ? 1 : 0).sqlite, run.responseFormat.columnText,
            run.reasoningEffort.sqlite, run.version.sqlite,
        ]
    }

    static func decode(_ row: SQLiteRow) -> Run {
        var run = Run(
            id: row.string(0), createdAt: row.int(1), threadID: row.string(2), assistantID: row.string(3),
            status: RunStatus(rawValue: row.string(4)) ?? .failed, expiresAt: row.optionalInt(7), model: row.string(13),
            instructions: row.string(14), tools: JSONValue.column(row.string(15)).arrayValue ?? [],
            metadata: JSONValue.column(row.string(16), default: [:]), temperature: row.double(18), topP: row.double(19),
            maxPromptTokens: row.optionalInt(20), maxCompletionTokens: row.optionalInt(21),
            truncationStrategy: JSONValue.column(row.string(22)), toolChoice: JSONValue.column(row.string(23), default: "auto"),
            parallelToolCalls: row.int(24) != 0, responseFormat: JSONValue.column(row.string(25), default: "auto"),
            reasoningEffort: row.optionalString(26))
        run.requiredAction = row.optionalString(5).map { (JSONValue.column($0).arrayValue ?? []).compactMap(ToolCall.init(stored:)) }
        run.lastError = row.optionalString(6).flatMap { RunError(stored: JSONValue.column($0)) }
        run.startedAt = row.optionalInt(8)
        run.cancelledAt = row.optionalInt(9)
        run.failedAt = row.optionalInt(10)
        run.completedAt = row.optionalInt(11)
        run.incompleteReason = row.optionalString(12)
        run.usage = row.optionalString(17).map { Usage(stored: JSONValue.column($0)) }
        run.version = row.int(27)
        return run
    }
}

/// How the engine's nested values are kept in JSON columns.
extension ToolCall {
    var stored: JSONValue { ["id": .string(id), "name": .string(name), "arguments": .string(arguments)] }

    init?(stored: JSONValue) {
        guard let id = stored["id"]?.stringValue, let name = stored["name"]?.stringValue else { return nil }
        self.init(id: id, name: name, arguments: stored["arguments"]?.stringValue ?? "")
    }
}

extension RunError {
    var stored: JSONValue { ["code": .string(code.rawValue), "message": .string(message)] }

    init?(stored: JSONValue) {
        guard let code = stored["code"]?.stringValue.flatMap(Code.init(rawValue:)) else { return nil }
        self.init(code, stored["message"]?.stringValue ?? "")
    }
}

extension Usage {
    var stored: JSONValue { ["prompt_tokens": .integer(promptTokens), "completion_tokens": .integer(completionTokens)] }

    init(stored: JSONValue) {
        func number(_ key: String) -> Int {
            if case .integer(let value)? = stored[key] { return value }
            return 0
        }
        self.init(promptTokens: number("prompt_tokens"), completionTokens: number("completion_tokens"))
    }
}
