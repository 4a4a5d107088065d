import RunsDomain

/// Steps of runs. Written by the engine; read through a run the caller was allowed to see.
public struct RunStepRepository {
    let connection: SQLiteConnection

    public init(_ connection: SQLiteConnection) {
        self.connection = connection
    }

    static let columns = """
        id, created_at, run_id, thread_id, assistant_id, type, status, step_details, last_error, expired_at,
        cancelled_at, failed_at, completed_at, metadata, usage
        """

    public func insert(_ step: RunStep, project: String) throws {
        try connection.run(
            "INSERT INTO run_steps (\(Self.columns), project) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            Self.values(step) + [project.sqlite])
    }

    public func update(_ step: RunStep) throws {
        try connection.run("""
            UPDATE run_steps SET status = ?7, step_details = ?8, last_error = ?9, expired_at = ?10, cancelled_at = ?11,
                failed_at = ?12, completed_at = ?13, metadata = ?14, usage = ?15
            WHERE id = ?1 AND created_at = ?2 AND run_id = ?3 AND thread_id = ?4 AND assistant_id = ?5 AND type = ?6
            """, Self.values(step))
    }

    public func find(_ id: String, runID: String) throws -> RunStep? {
        try connection.queryOne("SELECT \(Self.columns) FROM run_steps WHERE id = ? AND run_id = ?",
                                [id.sqlite, runID.sqlite], Self.decode)
    }

    public func list(runID: String, _ query: ListQuery) throws -> Page<RunStep> {
        try Pagination.page(connection, select: "SELECT \(Self.columns) FROM run_steps WHERE run_id = ?",
                            scope: [runID.sqlite], query: query, map: Self.decode)
    }

    /// Every step of a run, oldest first.
    public func all(runID: String) throws -> [RunStep] {
        try connection.query("SELECT \(Self.columns) FROM run_steps WHERE run_id = ? ORDER BY id", [runID.sqlite], Self.decode)
    }

    static func values(_ step: RunStep) -> [SQLiteValue] {
        [
            step.id.sqlite, step.createdAt.sqlite, step.runID.sqlite, step.threadID.sqlite, step.assistantID.sqlite,
            step.type.rawValue.sqlite, step.status.rawValue.sqlite, step.storedDetails.columnText,
            step.lastError.map { $0.stored.columnText } ?? .null, step.expiredAt.sqlite, step.cancelledAt.sqlite,
            step.failedAt.sqlite, step.completedAt.sqlite, step.metadata.columnText,
            step.usage.map { $0.stored.columnText } ?? .null,
        ]
    }

    static func decode(_ row: SQLiteRow) -> RunStep {
        let details = JSONValue.column(row.string(7))
        var step = RunStep(
            id: row.string(0), createdAt: row.int(1), runID: row.string(2), threadID: row.string(3),
            assistantID: row.string(4), type: StepType(rawValue: row.string(5)) ?? .messageCreation,
            messageID: details["message_id"]?.stringValue,
            toolCalls: (details["tool_calls"]?.arrayValue ?? []).compactMap { item in
                guard let id = item["id"]?.stringValue, let name = item["name"]?.stringValue else { return nil }
                return StepToolCall(id: id, name: name, arguments: item["arguments"]?.stringValue ?? "",
                                    output: item["output"]?.stringValue)
            })
        step.status = StepStatus(rawValue: row.string(6)) ?? .failed
        step.lastError = row.optionalString(8).flatMap { RunError(stored: JSONValue.column($0)) }
        step.expiredAt = row.optionalInt(9)
        step.cancelledAt = row.optionalInt(10)
        step.failedAt = row.optionalInt(11)
        step.completedAt = row.optionalInt(12)
        step.metadata = JSONValue.column(row.string(13), default: [:])
        step.usage = row.optionalString(14).map { Usage(stored: JSONValue.column($0)) }
        return step
    }
}

extension RunStep {
    var storedDetails: JSONValue {
        switch type {
        case .messageCreation: ["message_id": JSONValue(messageID)]
        case .toolCalls:
            ["tool_calls": .array(toolCalls.map {
                ["id": .string($0.id), "name": .string($0.name), "arguments": .string($0.arguments), "output": JSONValue($0.output)]
            })]
        }
    }
}
