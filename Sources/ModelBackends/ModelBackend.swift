import RunsDomain

/// One call to a model, in chat-completions terms: `messages` are chat messages
/// (`{"role": "system"|"user"|"assistant"|"tool", …}`) and `tools` chat tool definitions.
public struct ModelRequest: Sendable {
    public var model: String
    public var messages: [JSONValue]
    public var tools: [JSONValue]
    /// `"none"`, `"auto"`, `"required"` or `{"type": "function", "function": {"name": …}}`; nil for the default.
    public var toolChoice: JSONValue?
    public var parallelToolCalls: Bool
    public var temperature: Double?
    public var topP: Double?
    /// Chat form (`{"type": "json_object"}` …); nil for plain text.
    public var responseFormat: JSONValue?
    public var maxCompletionTokens: Int?

    public init(model: String, messages: [JSONValue], tools: [JSONValue] = [], toolChoice: JSONValue? = nil,
                parallelToolCalls: Bool = true, temperature: Double? = nil, topP: Double? = nil,
                responseFormat: JSONValue? = nil, maxCompletionTokens: Int? = nil) {
        self.model = model
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.temperature = temperature
        self.topP = topP
        self.responseFormat = responseFormat
        self.maxCompletionTokens = maxCompletionTokens
    }
}

/// A piece of the model's answer as it arrives.
public enum ModelDelta: Sendable, Equatable {
    case text(String)
    /// A function call: `id` and `name` come with the first piece for an index, `arguments` in fragments.
    case toolCall(index: Int, id: String?, name: String?, arguments: String)
}

public enum FinishReason: String, Sendable {
    case stop
    case length
    case toolCalls = "tool_calls"
    case contentFilter = "content_filter"
}

public struct ModelOutcome: Sendable, Equatable {
    public var finishReason: FinishReason
    public var usage: Usage

    public init(finishReason: FinishReason, usage: Usage) {
        self.finishReason = finishReason
        self.usage = usage
    }
}

/// Why a model call failed, already worded for the run's `last_error`.
public struct BackendError: Error, Sendable, Equatable {
    public var error: RunError

    public init(_ code: RunError.Code, _ message: String) {
        error = RunError(code, message)
    }
}

/// Receives each delta; the backend waits for it before reading on, so a slow consumer slows the
/// model's stream down instead of piling deltas up in memory. Its errors end the call unchanged.
public typealias DeltaSink = @Sendable (ModelDelta) async throws -> Void

/// A source of model answers. `generate` streams deltas through `emit` as they arrive and returns
/// how the answer ended; it stops promptly when its task is cancelled (throwing CancellationError).
public protocol ModelBackend: Sendable {
    func generate(_ request: ModelRequest, emit: @escaping DeltaSink) async throws -> ModelOutcome
}

/// The token rule the built-in backend and the truncation estimate share: one token per
/// whitespace-separated word. Backends that report real counts override it for usage.
public enum TokenEstimate {
    public static func count(_ text: String) -> Int {
        var count = 0
        var inWord = false
        for byte in text.utf8 {
            let space = byte == 32 || byte == 9 || byte == 10 || byte == 13
            if !space && !inWord { count += 1 }
            inWord = !space
        }
        return count
    }

    /// Words in every text a chat message carries (content, tool-call names and arguments).
    public static func count(message: JSONValue) -> Int {
        var total = 0
        switch message["content"] {
        case .string(let text)?: total += count(text)
        case .array(let parts)?:
            for part in parts { if let text = part["text"]?.stringValue { total += count(text) } }
        default: break
        }
        for call in message["tool_calls"]?.arrayValue ?? [] {
            total += count(call["function"]?["name"]?.stringValue ?? "") + count(call["function"]?["arguments"]?.stringValue ?? "")
        }
        return total
    }
}
