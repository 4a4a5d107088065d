import ModelBackends
import RunsDomain
import RunsWire

/// What the model sees for a run: the run's instructions, the thread's messages cut by the
/// truncation strategy, this run's earlier tool calls with their outputs, and the run's settings.
enum ModelRequestBuilder {
    /// - Parameter promptBudget: tokens the prompt may still use (`max_prompt_tokens` less what
    ///   earlier calls of the run used); `auto` truncation drops the oldest messages to fit it.
    /// - Returns: nil when not even the newest message fits the budget.
    /// - Parameter searchRounds: rounds of Runnel's own tools already run in this turn; a forced
    ///   `file_search` or `code_interpreter` is forced once, and after `FileSearchTool.maxRounds`
    ///   neither is offered.
    /// - Parameter codeTool: the `code_interpreter` function, when the run has the tool and a sandbox runs here.
    static func build(run: Run, messages: [Message], steps: [RunStep], promptBudget: Int?, completionBudget: Int?,
                      searchRounds: Int = 0, images: [String: String] = [:], codeTool: JSONValue? = nil) -> ModelRequest? {
        var threadMessages = messages.map { (key: suffix($0.id), chat: chat($0, images: images)) }
        if run.truncationStrategy["type"]?.stringValue == "last_messages", case .integer(let last)? = run.truncationStrategy["last_messages"] {
            threadMessages = Array(threadMessages.suffix(last))
        }
        let system: [JSONValue] = run.instructions.isEmpty ? [] : [["role": "system", "content": .string(run.instructions)]]
        var toolTurns: [(key: String, chat: [JSONValue])] = []
        for step in steps where step.type == .toolCalls && step.status == .completed {
            let call: JSONValue = ["role": "assistant", "content": nil, "tool_calls": .array(step.toolCalls.map {
                ["id": .string($0.id), "type": "function", "function": ["name": .string($0.name), "arguments": .string($0.arguments)]]
            })]
            let outputs: [JSONValue] = step.toolCalls.map {
                ["role": "tool", "tool_call_id": .string($0.id), "content": .string($0.output ?? "")]
            }
            toolTurns.append((suffix(step.id), [call] + outputs))
        }
        // Thread messages and tool turns interleave by creation; `auto` truncation then drops the
        // oldest thread messages until the prompt fits, in one pass over token counts.
        func tokens(_ chat: [JSONValue]) -> Int { chat.reduce(0) { $0 + TokenEstimate.count(message: $1) } }
        let turns = (threadMessages.map { (key: $0.key, chat: [$0.chat], droppable: true) }
            + toolTurns.map { (key: $0.key, chat: $0.chat, droppable: false) }).sorted { $0.key < $1.key }
        var kept = [Bool](repeating: true, count: turns.count)
        if let promptBudget {
            let sizes = turns.map { tokens($0.chat) }
            var total = tokens(system) + sizes.reduce(0, +)
            var remaining = threadMessages.count
            for (index, turn) in turns.enumerated() where total > promptBudget && remaining > 1 && turn.droppable {
                kept[index] = false
                remaining -= 1
                total -= sizes[index]
            }
            if total > promptBudget { return nil }
        }
        let chatMessages = system + turns.indices.filter { kept[$0] }.flatMap { turns[$0].chat }
        var functions = run.tools.compactMap { tool -> JSONValue? in
            guard tool["type"]?.stringValue == "function", let function = tool["function"] else { return nil }
            return ["type": "function", "function": function]
        }
        var toolChoice = chatToolChoice(run.toolChoice)
        if FileSearchTool.isOffered(in: run), searchRounds < FileSearchTool.maxRounds {
            functions.append(FileSearchTool.definition)
        }
        if run.toolChoice["type"]?.stringValue == "file_search" {
            toolChoice = searchRounds == 0 ? ["type": "function", "function": ["name": .string(FileSearchTool.name)]] : nil
        }
        if let codeTool, searchRounds < FileSearchTool.maxRounds {
            functions.append(codeTool)
            if run.toolChoice["type"]?.stringValue == "code_interpreter" {
                toolChoice = searchRounds == 0 ? ["type": "function", "function": ["name": .string(CodeInterpreterTool.name)]] : nil
            }
        }
        return ModelRequest(
            model: run.model, messages: chatMessages, tools: functions, toolChoice: toolChoice,
            parallelToolCalls: run.parallelToolCalls, temperature: run.temperature, topP: run.topP,
            responseFormat: chatResponseFormat(run.responseFormat), maxCompletionTokens: completionBudget)
    }

    /// Ids are time-ordered after their prefix, so messages and steps interleave by creation.
    static func suffix(_ id: String) -> String {
        guard let underscore = id.firstIndex(of: "_") else { return id }
        return String(id[id.index(after: underscore)...])
    }

    /// - Parameter images: `image_file` ids → data URLs of the images that can be sent.
    static func chat(_ message: Message, images: [String: String] = [:]) -> JSONValue {
        var parts: [JSONValue] = []
        var onlyText = true
        for part in message.content {
            switch part["type"]?.stringValue {
            case "text":
                parts.append(["type": "text", "text": part["text"]?["value"] ?? ""])
            case "image_url":
                onlyText = false
                parts.append(["type": "image_url", "image_url": part["image_url"] ?? [:]])
            case "image_file":
                let id = part["image_file"]?["file_id"]?.stringValue ?? "?"
                if let url = images[id] {
                    onlyText = false
                    parts.append(["type": "image_url", "image_url": ["url": .string(url), "detail": part["image_file"]?["detail"] ?? "auto"]])
                } else {
                    // Deleted, not an image, or too large to send: say so rather than drop the part silently.
                    parts.append(["type": "text", "text": .string("[image file \(id) is not available to this model]")])
                }
            default:
                break
            }
        }
        let content: JSONValue = onlyText
            ? .string(parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n"))
            : .array(parts)
        return ["role": .string(message.role.rawValue), "content": content]
    }

    static func chatToolChoice(_ choice: JSONValue) -> JSONValue? {
        switch choice {
        case .string(let text): text == "auto" ? nil : choice
        default: choice["type"]?.stringValue == "function" ? choice : nil
        }
    }

    static func chatResponseFormat(_ format: JSONValue) -> JSONValue? {
        guard case .object = format, let type = format["type"]?.stringValue, type != "text" else { return nil }
        return format
    }
}
