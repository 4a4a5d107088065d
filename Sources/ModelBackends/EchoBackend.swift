import RunsDomain

/// The built-in deterministic model, for integration tests that need no model and no key.
///
/// - It answers with the text of the last user message, one word per delta.
/// - Each line `/call NAME {json}` of that message makes it call function NAME with those
///   arguments instead (several lines: parallel calls; `{}` when no JSON is given).
/// - `tool_choice` `required` calls the first function tool with `{}`; a named function calls
///   that one; `none` always answers with text.
/// - A forced call of `file_search` (the tool Runnel runs itself) searches for the last user
///   message's text.
/// - After tool outputs it answers with the outputs, one per line.
/// - Tokens: one per whitespace-separated word, in the prompt and in the answer; an answer
///   longer than `max_completion_tokens` stops there with finish reason `length`.
public struct EchoBackend: ModelBackend {
    public let delayPerTokenMilliseconds: Int

    public init(delayPerTokenMilliseconds: Int = 0) {
        self.delayPerTokenMilliseconds = delayPerTokenMilliseconds
    }

    public func generate(_ request: ModelRequest, emit: @escaping DeltaSink) async throws -> ModelOutcome {
        let promptTokens = request.messages.reduce(0) { $0 + TokenEstimate.count(message: $1) }
        let budget = request.maxCompletionTokens ?? Int.max
        let calls = plannedCalls(request)
        if !calls.isEmpty {
            var used = 0
            for (index, call) in calls.enumerated() {
                try await pause()
                try await emit(.toolCall(index: index, id: call.id, name: call.name, arguments: ""))
                for fragment in Self.fragments(call.arguments, size: 8) {
                    try await pause()
                    try await emit(.toolCall(index: index, id: nil, name: nil, arguments: fragment))
                }
                used += 1 + TokenEstimate.count(call.arguments)
            }
            return ModelOutcome(finishReason: .toolCalls, usage: Usage(promptTokens: promptTokens, completionTokens: used))
        }
        var used = 0
        for word in Self.words(answerText(request)) {
            if used == budget {
                return ModelOutcome(finishReason: .length, usage: Usage(promptTokens: promptTokens, completionTokens: used))
            }
            try await pause()
            try await emit(.text(word))
            used += 1
        }
        return ModelOutcome(finishReason: .stop, usage: Usage(promptTokens: promptTokens, completionTokens: used))
    }

    private func pause() async throws {
        if delayPerTokenMilliseconds > 0 {
            try await Task.sleep(nanoseconds: UInt64(delayPerTokenMilliseconds) * 1_000_000)
        } else {
            try Task.checkCancellation()
        }
    }

    func answerText(_ request: ModelRequest) -> String {
        var outputs: [String] = []
        for message in request.messages.reversed() {
            guard message["role"]?.stringValue == "tool" else { break }
            outputs.insert(message["content"]?.stringValue ?? "", at: 0)
        }
        if !outputs.isEmpty { return outputs.joined(separator: "\n") }
        return lastUserText(request) ?? ""
    }

    func lastUserText(_ request: ModelRequest) -> String? {
        guard let message = request.messages.last(where: { $0["role"]?.stringValue == "user" }) else { return nil }
        switch message["content"] {
        case .string(let text)?: return text
        case .array(let parts)?: return parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
        default: return nil
        }
    }

    func plannedCalls(_ request: ModelRequest) -> [ToolCall] {
        let functions = request.tools.compactMap { $0["function"]?["name"]?.stringValue }
        if request.toolChoice == "none" || functions.isEmpty { return [] }
        // After tool outputs the model answers; it does not call again.
        if request.messages.last?["role"]?.stringValue == "tool" { return [] }
        var calls: [ToolCall] = []
        for line in (lastUserText(request) ?? "").split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix("/call ") else { continue }
            let rest = trimmed.dropFirst(6).drop { $0 == " " }
            let name = String(rest.prefix { $0 != " " })
            guard !name.isEmpty else { continue }
            var arguments = String(rest.dropFirst(name.count)).trimmingSpaces()
            if arguments.isEmpty { arguments = "{}" }
            calls.append(ToolCall(id: Self.callID(), name: name, arguments: arguments))
        }
        if calls.isEmpty {
            if case .object = request.toolChoice, let named = request.toolChoice?["function"]?["name"]?.stringValue {
                let arguments = named == "file_search"
                    ? (["query": .string(lastUserText(request) ?? "")] as JSONValue).jsonText : "{}"
                calls = [ToolCall(id: Self.callID(), name: named, arguments: arguments)]
            } else if request.toolChoice == "required", let first = functions.first {
                calls = [ToolCall(id: Self.callID(), name: first, arguments: "{}")]
            }
        }
        return request.parallelToolCalls ? calls : Array(calls.prefix(1))
    }

    static func callID() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return "call_" + String((0..<24).map { _ in alphabet[Int(generator.next() % 62)] })
    }

    /// Words with the whitespace that follows them, so the deltas concatenate to the text.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var sawSpace = false
        for character in text {
            let space = character.isWhitespace
            if !space && sawSpace {
                words.append(current)
                current = ""
            }
            current.append(character)
            sawSpace = space
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    static func fragments(_ text: String, size: Int) -> [String] {
        var pieces: [String] = []
        var index = text.startIndex
        while index < text.endIndex {
            let end = text.index(index, offsetBy: size, limitedBy: text.endIndex) ?? text.endIndex
            pieces.append(String(text[index..<end]))
            index = end
        }
        return pieces
    }
}

extension String {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}
