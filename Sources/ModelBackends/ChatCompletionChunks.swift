import RunsDomain

/// Reads chat-completion stream chunks: content and tool-call deltas as they come, then the
/// finish reason and the usage chunk (`stream_options.include_usage`).
///
/// Numbers come from a server Runnel does not control, so each is converted exactly and checked
/// against a plausible range; one outside it fails the call with a message naming the field,
/// instead of trapping or being silently clamped into a wrong count.
struct ChatCompletionChunks {
    /// More tokens than any model has in one call; a count above it is a fault of the server.
    static let maxTokenCount = Int(Int32.max)
    /// Parallel calls one answer may make (the index of a tool-call delta is below it).
    static let maxToolCalls = 128

    private(set) var finishReason: FinishReason?
    private(set) var usage: Usage?
    private(set) var sawToolCalls = false

    mutating func read(_ chunk: JSONValue) throws(BackendError) -> [ModelDelta] {
        if let usage = chunk["usage"], case .object = usage {
            self.usage = Usage(promptTokens: try Self.count(usage["prompt_tokens"], "usage.prompt_tokens"),
                               completionTokens: try Self.count(usage["completion_tokens"], "usage.completion_tokens"))
        }
        var deltas: [ModelDelta] = []
        for choice in chunk["choices"]?.arrayValue ?? [] {
            let delta = choice["delta"] ?? [:]
            if let text = delta["content"]?.stringValue, !text.isEmpty { deltas.append(.text(text)) }
            for call in delta["tool_calls"]?.arrayValue ?? [] {
                sawToolCalls = true
                guard let index = Self.exactInteger(call["index"] ?? 0), (0..<Self.maxToolCalls).contains(index) else {
                    throw Self.fault("a tool call index of \(Self.shown(call["index"] ?? .null)), not a whole number from 0 to \(Self.maxToolCalls - 1)")
                }
                deltas.append(.toolCall(
                    index: index, id: call["id"]?.stringValue,
                    name: call["function"]?["name"]?.stringValue, arguments: call["function"]?["arguments"]?.stringValue ?? ""))
            }
            if let reason = choice["finish_reason"]?.stringValue {
                finishReason = FinishReason(rawValue: reason) ?? (reason == "function_call" ? .toolCalls : .stop)
            }
        }
        return deltas
    }

    /// A token count: absent or null reads as 0; anything else must be a whole number in range.
    static func count(_ value: JSONValue?, _ field: String) throws(BackendError) -> Int {
        guard let value, !value.isNull else { return 0 }
        guard let count = exactInteger(value), (0...maxTokenCount).contains(count) else {
            throw fault("\(field) of \(shown(value)), not a whole number of tokens from 0 to \(maxTokenCount)")
        }
        return count
    }

    static func exactInteger(_ value: JSONValue) -> Int? {
        switch value {
        case .integer(let integer): integer
        case .number(let number): Int(exactly: number)
        default: nil
        }
    }

    /// A value as the fault message quotes it: short, since the message is stored as the run's error.
    static func shown(_ value: JSONValue) -> String {
        String(value.jsonText.prefix(80))
    }

    static func fault(_ what: String) -> BackendError {
        BackendError(.serverError, "The model server sent an invalid stream: \(what).")
    }
}
