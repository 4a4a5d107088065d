import RunsDomain

/// Reads chat-completion stream chunks: content and tool-call deltas as they come, then the
/// finish reason and the usage chunk (`stream_options.include_usage`).
struct ChatCompletionChunks {
    private(set) var finishReason: FinishReason?
    private(set) var usage: Usage?
    private(set) var sawToolCalls = false

    mutating func read(_ chunk: JSONValue) -> [ModelDelta] {
        if let usage = chunk["usage"], case .object = usage {
            self.usage = Usage(promptTokens: usage["prompt_tokens"]?.intValue ?? 0,
                               completionTokens: usage["completion_tokens"]?.intValue ?? 0)
        }
        var deltas: [ModelDelta] = []
        for choice in chunk["choices"]?.arrayValue ?? [] {
            let delta = choice["delta"] ?? [:]
            if let text = delta["content"]?.stringValue, !text.isEmpty { deltas.append(.text(text)) }
            for call in delta["tool_calls"]?.arrayValue ?? [] {
                sawToolCalls = true
                deltas.append(.toolCall(
                    index: call["index"]?.intValue ?? 0, id: call["id"]?.stringValue,
                    name: call["function"]?["name"]?.stringValue, arguments: call["function"]?["arguments"]?.stringValue ?? ""))
            }
            if let reason = choice["finish_reason"]?.stringValue {
                finishReason = FinishReason(rawValue: reason) ?? (reason == "function_call" ? .toolCalls : .stop)
            }
        }
        return deltas
    }
}

extension JSONValue {
    var intValue: Int? {
        switch self {
        case .integer(let value): value
        case .number(let value): Int(value)
        default: nil
        }
    }
}
