import RunsDomain

extension Run {
    public var wire: JSONValue { fields.wire }
}

extension RunFields {
    public var wire: JSONValue {
        let showsUsage = status.isTerminal || status == .requiresAction
        return [
            "id": .string(id),
            "object": "thread.run",
            "created_at": .integer(createdAt),
            "assistant_id": .string(assistantID),
            "thread_id": .string(threadID),
            "status": .string(status.rawValue),
            "started_at": JSONValue(startedAt),
            "expires_at": JSONValue(expiresAt),
            "cancelled_at": JSONValue(cancelledAt),
            "failed_at": JSONValue(failedAt),
            "completed_at": JSONValue(completedAt),
            "required_action": requiredAction.map { calls in
                ["type": "submit_tool_outputs", "submit_tool_outputs": ["tool_calls": .array(calls.map(\.wire))]]
            } ?? .null,
            "last_error": lastError.map(\.wire) ?? .null,
            "model": .string(model),
            "instructions": .string(instructions),
            "tools": .array(tools),
            "metadata": metadata,
            "temperature": .number(temperature ?? 1.0),
            "top_p": .number(topP ?? 1.0),
            "max_completion_tokens": JSONValue(maxCompletionTokens),
            "max_prompt_tokens": JSONValue(maxPromptTokens),
            "truncation_strategy": truncationStrategy,
            "incomplete_details": incompleteReason.map { ["reason": .string($0)] } ?? .null,
            "usage": showsUsage ? (usage ?? Usage()).wire : .null,
            "response_format": responseFormat,
            "tool_choice": toolChoice,
            "parallel_tool_calls": .bool(parallelToolCalls),
            "reasoning_effort": JSONValue(reasoningEffort),
        ]
    }
}

extension ToolCall {
    public var wire: JSONValue {
        ["id": .string(id), "type": "function", "function": ["name": .string(name), "arguments": .string(arguments)]]
    }
}

extension RunError {
    public var wire: JSONValue { ["code": .string(code.rawValue), "message": .string(message)] }
}

extension Usage {
    public var wire: JSONValue {
        ["prompt_tokens": .integer(promptTokens), "completion_tokens": .integer(completionTokens), "total_tokens": .integer(totalTokens)]
    }
}

extension RunStep {
    public var wire: JSONValue { wire(includeSearchContent: false) }

    /// - Parameter includeSearchContent: `file_search` results carry their text (`include[]`).
    public func wire(includeSearchContent: Bool) -> JSONValue {
        let details: JSONValue = switch type {
        case .messageCreation: ["type": "message_creation", "message_creation": ["message_id": JSONValue(messageID)]]
        case .toolCalls: ["type": "tool_calls", "tool_calls": .array(toolCalls.map { $0.wire(includeSearchContent: includeSearchContent) })]
        }
        return [
            "id": .string(id),
            "object": "thread.run.step",
            "created_at": .integer(createdAt),
            "run_id": .string(runID),
            "assistant_id": .string(assistantID),
            "thread_id": .string(threadID),
            "type": .string(type.rawValue),
            "status": .string(status.rawValue),
            "cancelled_at": JSONValue(cancelledAt),
            "completed_at": JSONValue(completedAt),
            "expired_at": JSONValue(expiredAt),
            "failed_at": JSONValue(failedAt),
            "last_error": lastError.map(\.wire) ?? .null,
            "step_details": details,
            "usage": status == .inProgress ? .null : (usage ?? Usage()).wire,
            "metadata": metadata,
        ]
    }
}

extension StepToolCall {
    public func wire(includeSearchContent: Bool) -> JSONValue {
        if let codeInterpreter {
            return ["id": .string(id), "type": "code_interpreter", "code_interpreter": [
                "input": .string(codeInterpreter.input), "outputs": .array(codeInterpreter.outputs.map(\.wire)),
            ]]
        }
        guard let fileSearch else {
            return ["id": .string(id), "type": "function",
                    "function": ["name": .string(name), "arguments": .string(arguments), "output": JSONValue(output)]]
        }
        return ["id": .string(id), "type": "file_search", "file_search": [
            "ranking_options": fileSearch.rankingOptions,
            "results": .array(fileSearch.results.map { hit in
                var result: [(String, JSONValue)] = [("file_id", .string(hit.fileID)), ("file_name", .string(hit.fileName)),
                                                     ("score", .number(hit.score))]
                if includeSearchContent { result.append(("content", [["type": "text", "text": .string(hit.text)]])) }
                return .object(result)
            }),
        ]]
    }
}

/// The delta events' payloads, shaped so the SDKs' accumulators rebuild the right snapshot:
/// ids and names only in a tool call's first delta, `annotations` only in the first text delta.
public enum DeltaWire {
    /// - Parameter index: the text's place in the message's content (after its images).
    public static func messageText(messageID: String, text: String, first: Bool, index: Int = 0) -> JSONValue {
        let textObject: JSONValue = first ? ["value": .string(text), "annotations": []] : ["value": .string(text)]
        return ["id": .string(messageID), "object": "thread.message.delta",
                "delta": ["content": [["index": .integer(index), "type": "text", "text": textObject]]]]
    }

    /// The figures a message starts with, as `image_file` parts.
    public static func messageImages(messageID: String, fileIDs: [String]) -> JSONValue {
        ["id": .string(messageID), "object": "thread.message.delta",
         "delta": ["content": .array(fileIDs.enumerated().map { index, id in
             ["index": .integer(index), "type": "image_file", "image_file": ["file_id": .string(id)]]
         })]]
    }

    /// A code_interpreter call as it starts: its code follows in pieces, its outputs at the end.
    public static func codeStart(stepID: String, index: Int, callID: String) -> JSONValue {
        stepDelta(stepID, ["index": .integer(index), "id": .string(callID), "type": "code_interpreter",
                           "code_interpreter": ["input": "", "outputs": []]])
    }

    public static func codeInput(stepID: String, index: Int, fragment: String) -> JSONValue {
        stepDelta(stepID, ["index": .integer(index), "type": "code_interpreter", "code_interpreter": ["input": .string(fragment)]])
    }

    public static func codeOutputs(stepID: String, index: Int, outputs: [CodeOutput]) -> JSONValue {
        stepDelta(stepID, ["index": .integer(index), "type": "code_interpreter", "code_interpreter": [
            "outputs": .array(outputs.enumerated().map { position, output in
                var item = output.wire
                if case .object(let fields) = item { item = .object([("index", .integer(position))] + fields) }
                return item
            }),
        ]])
    }

    public static func toolCallStart(stepID: String, index: Int, call: StepToolCall) -> JSONValue {
        stepDelta(stepID, ["index": .integer(index), "id": .string(call.id), "type": "function",
                           "function": ["name": .string(call.name), "arguments": .string(call.arguments), "output": nil]])
    }

    /// A file_search call as it starts: its results come with the step's completion.
    public static func fileSearchStart(stepID: String, index: Int, callID: String) -> JSONValue {
        stepDelta(stepID, ["index": .integer(index), "id": .string(callID), "type": "file_search", "file_search": [:]])
    }

    public static func toolCallArguments(stepID: String, index: Int, fragment: String) -> JSONValue {
        stepDelta(stepID, ["index": .integer(index), "type": "function", "function": ["arguments": .string(fragment)]])
    }

    private static func stepDelta(_ stepID: String, _ call: JSONValue) -> JSONValue {
        ["id": .string(stepID), "object": "thread.run.step.delta",
         "delta": ["step_details": ["type": "tool_calls", "tool_calls": [call]]]]
    }
}

extension CodeOutput {
    public var wire: JSONValue {
        switch self {
        case .logs(let text): ["type": "logs", "logs": .string(text)]
        case .image(let id): ["type": "image", "image": ["file_id": .string(id)]]
        }
    }
}
