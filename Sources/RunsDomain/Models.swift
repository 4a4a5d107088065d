/// Nested parts (tools, metadata, content, tool resources) are kept as validated JSON: the
/// server stores and echoes them whole, and only the run engine looks inside tools.
public struct Assistant: Sendable, Equatable {
    public var id: String
    public var createdAt: Int
    public var name: String?
    public var description: String?
    public var model: String
    public var instructions: String?
    public var tools: [JSONValue]
    public var toolResources: JSONValue
    public var metadata: JSONValue
    public var temperature: Double?
    public var topP: Double?
    public var responseFormat: JSONValue
    public var reasoningEffort: String?

    public init(
        id: String, createdAt: Int, name: String? = nil, description: String? = nil, model: String,
        instructions: String? = nil, tools: [JSONValue] = [], toolResources: JSONValue = .null,
        metadata: JSONValue = [:], temperature: Double? = nil, topP: Double? = nil,
        responseFormat: JSONValue = "auto", reasoningEffort: String? = nil
    ) {
        self.id = id
        self.createdAt = createdAt
        self.name = name
        self.description = description
        self.model = model
        self.instructions = instructions
        self.tools = tools
        self.toolResources = toolResources
        self.metadata = metadata
        self.temperature = temperature
        self.topP = topP
        self.responseFormat = responseFormat
        self.reasoningEffort = reasoningEffort
    }
}

/// A conversation thread (named so it cannot be mistaken for Foundation's `Thread`).
public struct ChatThread: Sendable, Equatable {
    public var id: String
    public var createdAt: Int
    public var toolResources: JSONValue
    public var metadata: JSONValue

    public init(id: String, createdAt: Int, toolResources: JSONValue = .null, metadata: JSONValue = [:]) {
        self.id = id
        self.createdAt = createdAt
        self.toolResources = toolResources
        self.metadata = metadata
    }
}

public enum MessageRole: String, Sendable {
    case user
    case assistant
}

public enum MessageStatus: String, Sendable, CaseIterable {
    case inProgress = "in_progress"
    case incomplete
    case completed
}

public struct Message: Sendable, Equatable {
    public var id: String
    public var createdAt: Int
    public var threadID: String
    public var status: MessageStatus
    public var incompleteDetails: JSONValue
    public var completedAt: Int?
    public var incompleteAt: Int?
    public var role: MessageRole
    /// Content parts in their output form, e.g. `{"type":"text","text":{"value":…,"annotations":[]}}`.
    public var content: [JSONValue]
    public var assistantID: String?
    public var runID: String?
    public var attachments: JSONValue
    public var metadata: JSONValue

    public init(
        id: String, createdAt: Int, threadID: String, status: MessageStatus = .completed,
        incompleteDetails: JSONValue = .null, completedAt: Int? = nil, incompleteAt: Int? = nil,
        role: MessageRole, content: [JSONValue], assistantID: String? = nil, runID: String? = nil,
        attachments: JSONValue = [], metadata: JSONValue = [:]
    ) {
        self.id = id
        self.createdAt = createdAt
        self.threadID = threadID
        self.status = status
        self.incompleteDetails = incompleteDetails
        self.completedAt = completedAt
        self.incompleteAt = incompleteAt
        self.role = role
        self.content = content
        self.assistantID = assistantID
        self.runID = runID
        self.attachments = attachments
        self.metadata = metadata
    }
}

/// A page request: `limit` items after/before exclusive cursors, in `order` of creation.
public struct ListQuery: Sendable, Equatable {
    public enum Order: String, Sendable {
        case asc
        case desc
    }

    public var limit: Int
    public var order: Order
    public var after: String?
    public var before: String?

    public init(limit: Int = 20, order: Order = .desc, after: String? = nil, before: String? = nil) {
        self.limit = limit
        self.order = order
        self.after = after
        self.before = before
    }
}

public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var hasMore: Bool

    public init(items: [Item], hasMore: Bool) {
        self.items = items
        self.hasMore = hasMore
    }
}
