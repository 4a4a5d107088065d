import RunsDomain

/// Runs of one project (or of every project, for the engine's recovery and sweeps).
public struct RunRepository {
    let connection: any SQLSession
    let project: String?

    /// - Parameter project: nil only for the engine, which works across projects.
    public init(_ connection: any SQLSession, project: String?) {
        self.connection = connection
        self.project = project
    }

    static let columns = """
        id, created_at, thread_id, assistant_id, status, required_action, last_error, expires_at, started_at,
        cancelled_at, failed_at, completed_at, incomplete_details, model, instructions, tools, metadata, usage,
        temperature, top_p, max_prompt_tokens, max_completion_tokens, truncation_strategy, tool_choice,
        parallel_tool_calls, response_format, reasoning_effort, version, project, include_search_content
        """

    private var projectFilter: String { project == nil ? "" : " AND project = ?" }
    private var projectValue: [SQLValue] { project.map { [$0.sqlite] } ?? [] }

    /// - Parameter lease: the node that will execute the run and until when, when it has a slot.
    public func insert(_ run: Run, project: String, lease: RunLease? = nil) throws {
        try connection.run(
            "INSERT INTO runs (\(Self.columns), lease_owner, lease_expires_at) VALUES (\(Array(repeating: "?", count: 32).joined(separator: ", ")))",
            Self.values(run) + [project.sqlite, (run.includeSearchContent ? 1 : 0).sqlite, lease?.owner.sqlite ?? .null,
                                lease?.expiresAt.sqlite ?? .null])
    }

    /// Stores `run` only if nobody changed it since `expectedVersion` was read. A run that
    /// finished or waits for tool outputs needs no node, so its lease goes in the same update.
    public func compareAndSet(_ run: Run, expectedVersion: Int) throws -> Bool {
        let releasesLease = run.status.isTerminal || run.status == .requiresAction
        return try connection.run("""
            UPDATE runs SET created_at = ?2, thread_id = ?3, assistant_id = ?4, status = ?5, required_action = ?6,
                last_error = ?7, expires_at = ?8, started_at = ?9, cancelled_at = ?10, failed_at = ?11, completed_at = ?12,
                incomplete_details = ?13, model = ?14, instructions = ?15, tools = ?16, metadata = ?17, usage = ?18,
                temperature = ?19, top_p = ?20, max_prompt_tokens = ?21, max_completion_tokens = ?22,
                truncation_strategy = ?23, tool_choice = ?24, parallel_tool_calls = ?25, response_format = ?26,
                reasoning_effort = ?27, version = ?28\(releasesLease ? ", lease_owner = NULL, lease_expires_at = NULL" : "")
            WHERE id = ?1 AND version = ?29
            """, Self.values(run) + [expectedVersion.sqlite]) > 0
    }

    /// A run with its project, its row locked (PostgreSQL), if `owner` holds its lease: what an
    /// executor reads before each write, so a node that lost the run writes nothing.
    public func findHeld(_ id: String, by owner: String) throws -> (run: Run, project: String)? {
        try connection.queryOne(
            "SELECT \(Self.columns) FROM runs WHERE id = ? AND lease_owner = ?\(connection.forUpdate)",
            [id.sqlite, owner.sqlite], Self.decodeWithProject)
    }

    /// - Parameter locking: in a write that will change the run, lock its row (PostgreSQL), so a
    ///   concurrent change on another node waits instead of failing the compare-and-set.
    public func find(_ id: String, threadID: String? = nil, locking: Bool = false) throws -> Run? {
        var sql = "SELECT \(Self.columns) FROM runs WHERE id = ?"
        var values: [SQLValue] = [id.sqlite]
        if let threadID {
            sql += " AND thread_id = ?"
            values.append(threadID.sqlite)
        }
        return try connection.queryOne(sql + projectFilter + (locking ? connection.forUpdate : ""), values + projectValue, Self.decode)
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

    /// Unfinished runs (with their projects) whose `expires_at` has passed and that no other
    /// node is executing (that node's own sweep expires those). On PostgreSQL the rows are
    /// locked, and rows another node's sweep holds are skipped, so sweeps on every node agree.
    public func expired(now: Int, owner: String, nowMilliseconds: Int) throws -> [(run: Run, project: String)] {
        try connection.query("""
            SELECT \(Self.columns) FROM runs WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling')
                AND expires_at <= ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?) ORDER BY id LIMIT 500\(connection.forUpdateSkipLocked)
            """, [now.sqlite, owner.sqlite, nowMilliseconds.sqlite], Self.decodeWithProject)
    }

    static func values(_ run: Run) -> [SQLValue] {
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

    static func decode(_ row: any SQLRow) throws -> Run {
        var run = Run(RunFields(
            id: try row.string("id"), createdAt: try row.int("created_at"), threadID: try row.string("thread_id"),
            assistantID: try row.string("assistant_id"), status: try row.enumeration("status", as: RunStatus.self),
            expiresAt: try row.optionalInt("expires_at"), model: try row.string("model"),
            instructions: try row.string("instructions"), tools: try row.json("tools").arrayValue ?? [],
            metadata: try row.json("metadata", default: [:]), temperature: try row.double("temperature"),
            topP: try row.double("top_p"), maxPromptTokens: try row.optionalInt("max_prompt_tokens"),
            maxCompletionTokens: try row.optionalInt("max_completion_tokens"),
            truncationStrategy: try row.json("truncation_strategy"), toolChoice: try row.json("tool_choice", default: "auto"),
            parallelToolCalls: try row.int("parallel_tool_calls") != 0,
            responseFormat: try row.json("response_format", default: "auto"),
            reasoningEffort: try row.optionalString("reasoning_effort")))
        run.requiredAction = try row.json("required_action").arrayValue?.compactMap(ToolCall.init(stored:))
        run.lastError = try RunError(stored: row.json("last_error"))
        run.startedAt = try row.optionalInt("started_at")
        run.cancelledAt = try row.optionalInt("cancelled_at")
        run.failedAt = try row.optionalInt("failed_at")
        run.completedAt = try row.optionalInt("completed_at")
        run.incompleteReason = try row.optionalString("incomplete_details")
        run.usage = try Usage(stored: row.json("usage"))
        run.version = try row.int("version")
        run.includeSearchContent = try row.int("include_search_content") != 0
        return run
    }

    static func decodeWithProject(_ row: any SQLRow) throws -> (run: Run, project: String) {
        (try decode(row), try row.string("project"))
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

    /// nil for a NULL column.
    init?(stored: JSONValue) throws {
        if stored.isNull { return nil }
        guard let code = stored["code"]?.stringValue.flatMap(Code.init(rawValue:)) else {
            throw CorruptRow(column: "last_error", problem: "holds no known error code")
        }
        self.init(code, stored["message"]?.stringValue ?? "")
    }
}

extension Usage {
    var stored: JSONValue { ["prompt_tokens": .integer(promptTokens), "completion_tokens": .integer(completionTokens)] }

    /// nil for a NULL column.
    init?(stored: JSONValue) {
        if stored.isNull { return nil }
        func number(_ key: String) -> Int {
            if case .integer(let value)? = stored[key] { return value }
            return 0
        }
        self.init(promptTokens: number("prompt_tokens"), completionTokens: number("completion_tokens"))
    }
}
