import RunsDomain

/// Domain values in the exact shape of OpenAI's objects: every required key present, `null`
/// where the schema allows it, keys in the documented order.
extension Assistant {
    public var wire: JSONValue {
        [
            "id": .string(id),
            "object": "assistant",
            "created_at": .integer(createdAt),
            "name": JSONValue(name),
            "description": JSONValue(description),
            "model": .string(model),
            "instructions": JSONValue(instructions),
            "tools": .array(tools),
            "tool_resources": toolResources.isNull ? [:] : toolResources,
            "metadata": metadata,
            "top_p": .number(topP ?? 1.0),
            "temperature": .number(temperature ?? 1.0),
            "reasoning_effort": JSONValue(reasoningEffort),
            "response_format": responseFormat,
        ]
    }
}

extension ChatThread {
    public var wire: JSONValue {
        [
            "id": .string(id),
            "object": "thread",
            "created_at": .integer(createdAt),
            "metadata": metadata,
            "tool_resources": toolResources.isNull ? [:] : toolResources,
        ]
    }
}

extension Message {
    public var wire: JSONValue {
        [
            "id": .string(id),
            "object": "thread.message",
            "created_at": .integer(createdAt),
            "assistant_id": JSONValue(assistantID),
            "thread_id": .string(threadID),
            "run_id": JSONValue(runID),
            "status": .string(status.rawValue),
            "incomplete_details": incompleteDetails,
            "completed_at": JSONValue(completedAt),
            "incomplete_at": JSONValue(incompleteAt),
            "role": .string(role.rawValue),
            "content": .array(content),
            "attachments": attachments,
            "metadata": metadata,
        ]
    }
}

public enum Wire {
    /// The list envelope; `first_id`/`last_id` are null on an empty page.
    public static func list<T>(_ page: Page<T>, _ encode: (T) -> JSONValue, id: (T) -> String) -> JSONValue {
        [
            "object": "list",
            "data": .array(page.items.map(encode)),
            "first_id": JSONValue(page.items.first.map(id)),
            "last_id": JSONValue(page.items.last.map(id)),
            "has_more": .bool(page.hasMore),
        ]
    }

    public static func deleted(_ id: String, object: String) -> JSONValue {
        ["id": .string(id), "object": .string(object), "deleted": true]
    }
}
