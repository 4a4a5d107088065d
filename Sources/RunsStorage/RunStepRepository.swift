import RunsDomain

/// Steps of runs. Written by the engine; read through a run the caller was allowed to see.
public struct RunStepRepository {
    let connection: any SQLSession

    public init(_ connection: any SQLSession) {
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

    /// Removes a run's open steps, with the partial message of a turn executed again.
    public func deleteOpen(runID: String) throws {
        try connection.run("DELETE FROM run_steps WHERE run_id = ? AND status = 'in_progress'", [runID.sqlite])
    }

    /// Every step of a run, oldest first.
    public func all(runID: String) throws -> [RunStep] {
        try connection.query("SELECT \(Self.columns) FROM run_steps WHERE run_id = ? ORDER BY id", [runID.sqlite], Self.decode)
    }

    static func values(_ step: RunStep) -> [SQLValue] {
        [
            step.id.sqlite, step.createdAt.sqlite, step.runID.sqlite, step.threadID.sqlite, step.assistantID.sqlite,
            step.type.rawValue.sqlite, step.status.rawValue.sqlite, step.storedDetails.columnText,
            step.lastError.map { $0.stored.columnText } ?? .null, step.expiredAt.sqlite, step.cancelledAt.sqlite,
            step.failedAt.sqlite, step.completedAt.sqlite, step.metadata.columnText,
            step.usage.map { $0.stored.columnText } ?? .null,
        ]
    }

    static func decode(_ row: any SQLRow) throws -> RunStep {
        let details = try row.json("step_details")
        var step = RunStep(
            id: try row.string("id"), createdAt: try row.int("created_at"), runID: try row.string("run_id"),
            threadID: try row.string("thread_id"), assistantID: try row.string("assistant_id"),
            type: try row.enumeration("type", as: StepType.self),
            messageID: details["message_id"]?.stringValue,
            toolCalls: (details["tool_calls"]?.arrayValue ?? []).compactMap { item in
                guard let id = item["id"]?.stringValue, let name = item["name"]?.stringValue else { return nil }
                return StepToolCall(id: id, name: name, arguments: item["arguments"]?.stringValue ?? "",
                                    output: item["output"]?.stringValue, fileSearch: item["file_search"].flatMap(FileSearchCall.init(stored:)),
                                    codeInterpreter: item["code_interpreter"].flatMap(CodeInterpreterCall.init(stored:)))
            })
        step.status = try row.enumeration("status", as: StepStatus.self)
        step.lastError = try RunError(stored: row.json("last_error"))
        step.expiredAt = try row.optionalInt("expired_at")
        step.cancelledAt = try row.optionalInt("cancelled_at")
        step.failedAt = try row.optionalInt("failed_at")
        step.completedAt = try row.optionalInt("completed_at")
        step.metadata = try row.json("metadata", default: [:])
        step.usage = try Usage(stored: row.json("usage"))
        return step
    }
}

extension RunStep {
    var storedDetails: JSONValue {
        switch type {
        case .messageCreation: ["message_id": JSONValue(messageID)]
        case .toolCalls:
            ["tool_calls": .array(toolCalls.map {
                ["id": .string($0.id), "name": .string($0.name), "arguments": .string($0.arguments), "output": JSONValue($0.output),
                 "file_search": $0.fileSearch?.stored ?? .null, "code_interpreter": $0.codeInterpreter?.stored ?? .null]
            })]
        }
    }
}

extension FileSearchCall {
    var stored: JSONValue {
        ["ranking_options": rankingOptions, "results": .array(results.map {
            ["file_id": .string($0.fileID), "file_name": .string($0.fileName), "score": .number($0.score), "text": .string($0.text)]
        })]
    }

    init?(stored: JSONValue) {
        guard case .object = stored, let results = stored["results"]?.arrayValue else { return nil }
        self.init(rankingOptions: stored["ranking_options"] ?? .null, results: results.compactMap { item in
            guard let fileID = item["file_id"]?.stringValue, let fileName = item["file_name"]?.stringValue else { return nil }
            let score: Double = switch item["score"] {
            case .number(let value)?: value
            case .integer(let value)?: Double(value)
            default: 0
            }
            return FileSearchHit(fileID: fileID, fileName: fileName, score: score, text: item["text"]?.stringValue ?? "")
        })
    }
}

extension CodeInterpreterCall {
    var stored: JSONValue {
        ["input": .string(input), "outputs": .array(outputs.map { output -> JSONValue in
            switch output {
            case .logs(let text): ["type": "logs", "logs": .string(text)]
            case .image(let id): ["type": "image", "file_id": .string(id)]
            }
        }), "files": .object(files.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })]
    }

    init?(stored: JSONValue) {
        guard let input = stored["input"]?.stringValue else { return nil }
        let outputs = (stored["outputs"]?.arrayValue ?? []).compactMap { item -> CodeOutput? in
            switch item["type"]?.stringValue {
            case "logs": item["logs"]?.stringValue.map(CodeOutput.logs)
            case "image": item["file_id"]?.stringValue.map { CodeOutput.image(fileID: $0) }
            default: nil
            }
        }
        var files: [String: String] = [:]
        if case .object(let fields)? = stored["files"] {
            for (path, id) in fields { if let id = id.stringValue { files[path] = id } }
        }
        self.init(input: input, outputs: outputs, files: files)
    }
}
