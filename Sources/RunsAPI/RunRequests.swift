import RunsDomain
import RunsEngine
import RunsWire
import RunsStorage

/// Reads the bodies of create-run and create-thread-and-run into a run to store.
enum RunRequests {
    static let createFields = [
        "assistant_id", "model", "instructions", "additional_instructions", "additional_messages", "tools", "metadata",
        "temperature", "top_p", "stream", "max_prompt_tokens", "max_completion_tokens", "truncation_strategy",
        "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort",
    ]
    static let threadAndRunFields = [
        "assistant_id", "thread", "model", "instructions", "tools", "tool_resources", "metadata", "temperature", "top_p",
        "stream", "max_prompt_tokens", "max_completion_tokens", "truncation_strategy", "tool_choice",
        "parallel_tool_calls", "response_format",
    ]

    /// Everything but the assistant and the ids, validated before anything is written.
    struct Settings {
        var assistantID: String
        var model: String?
        var instructions: Field<String>
        var additionalInstructions: String?
        var tools: [JSONValue]?
        var metadata: JSONValue
        var temperature: Double?
        var topP: Double?
        var stream: Bool
        var maxPromptTokens: Int?
        var maxCompletionTokens: Int?
        var truncationStrategy: JSONValue
        var toolChoice: JSONValue
        var parallelToolCalls: Bool
        var responseFormat: JSONValue?
        var reasoningEffort: String?
    }

    static func settings(_ body: RequestObject) throws -> Settings {
        let tools = try Validate.tools(try body.array("tools", maxItems: 20))
        return Settings(
            assistantID: try body.requiredString("assistant_id"),
            model: try body.string("model").value,
            instructions: try body.string("instructions", maxLength: 256_000),
            additionalInstructions: try body.string("additional_instructions", maxLength: 256_000).value,
            tools: tools,
            metadata: try Validate.metadata(body.field("metadata")) ?? [:],
            temperature: try body.number("temperature", in: 0...2).value,
            topP: try body.number("top_p", in: 0...1).value,
            stream: try body.bool("stream").value ?? false,
            maxPromptTokens: try body.integer("max_prompt_tokens", minimum: 256).value,
            maxCompletionTokens: try body.integer("max_completion_tokens", minimum: 256).value,
            truncationStrategy: try truncation(body.field("truncation_strategy")),
            toolChoice: try toolChoice(body.field("tool_choice")),
            parallelToolCalls: try body.bool("parallel_tool_calls").value ?? true,
            responseFormat: try Validate.responseFormat(body.field("response_format")),
            reasoningEffort: try body.oneOf("reasoning_effort", AssistantsEndpoints.reasoningEfforts).value)
    }

    /// The run as it is created: the assistant's settings where the request left them out.
    static func makeRun(_ settings: Settings, assistant: Assistant, threadID: String, context: APIContext,
                        expirySeconds: Int) throws -> Run {
        let (id, createdAt) = context.services.ids.make(.run)
        var instructions = settings.instructions.applied(to: assistant.instructions) ?? ""
        if let extra = settings.additionalInstructions, !extra.isEmpty {
            instructions = instructions.isEmpty ? extra : instructions + "\n\n" + extra
        }
        let tools = settings.tools ?? assistant.tools
        try checkToolChoice(settings.toolChoice, tools: tools)
        return Run(RunFields(
            id: id, createdAt: createdAt, threadID: threadID, assistantID: assistant.id, expiresAt: createdAt + expirySeconds,
            model: settings.model ?? assistant.model, instructions: instructions, tools: tools, metadata: settings.metadata,
            temperature: settings.temperature ?? assistant.temperature, topP: settings.topP ?? assistant.topP,
            maxPromptTokens: settings.maxPromptTokens, maxCompletionTokens: settings.maxCompletionTokens,
            truncationStrategy: settings.truncationStrategy, toolChoice: settings.toolChoice,
            parallelToolCalls: settings.parallelToolCalls, responseFormat: settings.responseFormat ?? assistant.responseFormat,
            reasoningEffort: settings.reasoningEffort ?? assistant.reasoningEffort))
    }

    static func assistant(_ id: String, context: APIContext, db: any SQLSession) throws -> Assistant {
        guard let assistant = try AssistantRepository(db, project: context.project).find(id) else {
            throw APIError.notFound("assistant", id)
        }
        return assistant
    }

    static func truncation(_ field: Field<JSONValue>) throws(APIError) -> JSONValue {
        guard case .value(let value) = field else { return ["type": "auto", "last_messages": nil] }
        let object = try RequestObject(value, path: "truncation_strategy", allowed: ["type", "last_messages"])
        let type = try object.requiredString("type")
        try Validate.oneOf(type, ["auto", "last_messages"], param: "truncation_strategy.type")
        let last = try object.integer("last_messages", minimum: 1).value
        if type == "last_messages", last == nil {
            throw APIError.invalid("Missing required parameter: 'truncation_strategy.last_messages'.",
                                   param: "truncation_strategy.last_messages", code: "missing_required_parameter")
        }
        return ["type": .string(type), "last_messages": JSONValue(last)]
    }

    static func toolChoice(_ field: Field<JSONValue>) throws(APIError) -> JSONValue {
        switch field {
        case .absent, .null: return "auto"
        case .value(.string(let text)):
            try Validate.oneOf(text, ["none", "auto", "required"], param: "tool_choice")
            return .string(text)
        case .value(let value):
            let object = try RequestObject(value, path: "tool_choice", allowed: ["type", "function"])
            let type = try object.requiredString("type")
            try Validate.oneOf(type, ["function", "code_interpreter", "file_search"], param: "tool_choice.type")
            guard type == "function" else { return ["type": .string(type)] }
            let function = try RequestObject(try object.required("function"), path: "tool_choice.function", allowed: ["name"])
            return ["type": "function", "function": ["name": .string(try function.requiredString("name"))]]
        }
    }

    /// A forced function must be one the run can call; a forced file_search needs the tool.
    static func checkToolChoice(_ choice: JSONValue, tools: [JSONValue]) throws(APIError) {
        if choice["type"]?.stringValue == "file_search", !tools.contains(where: { $0["type"]?.stringValue == "file_search" }) {
            throw APIError.invalid("Invalid 'tool_choice': the run has no file_search tool to force.", param: "tool_choice", code: "invalid_value")
        }
        guard let name = choice["function"]?["name"]?.stringValue else { return }
        let names = tools.compactMap { $0["function"]?["name"]?.stringValue }
        guard names.contains(name) else {
            throw APIError.invalid("Invalid 'tool_choice': function '\(name)' is not one of the run's tools.",
                                   param: "tool_choice.function.name", code: "invalid_value")
        }
    }
}
