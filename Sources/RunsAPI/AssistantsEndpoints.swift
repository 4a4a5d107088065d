import HTTPServer
import RunsDomain
import RunsEngine
import RunsWire
import RunsStorage

enum AssistantsEndpoints: EndpointGroup {
    static func register(in router: inout Router<Route>) {
        router.add("POST", "/assistants", .write(create))
        router.add("GET", "/assistants", .read(list))
        router.add("GET", "/assistants/:assistant_id", .read(retrieve))
        router.add("POST", "/assistants/:assistant_id", .write(modify))
        router.add("DELETE", "/assistants/:assistant_id", .write(delete))
    }

    static let fields = ["model", "name", "description", "instructions", "reasoning_effort", "tools", "tool_resources",
                         "metadata", "temperature", "top_p", "response_format"]
    static let reasoningEfforts = ["none", "minimal", "low", "medium", "high", "xhigh", "max"]

    static func create(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let body = try RequestObject(try context.body(), allowed: fields)
        let (id, createdAt) = context.services.ids.make(.assistant)
        var assistant = Assistant(id: id, createdAt: createdAt, model: try body.requiredString("model"))
        try apply(body, to: &assistant)
        assistant.toolResources = try ToolResourceStores.resolve(assistant.toolResources, context: context, db: db) ?? .null
        try AssistantRepository(db, project: context.project).insert(assistant)
        return assistant.wire
    }

    static func modify(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let body = try RequestObject(try context.body(), allowed: fields)
        let repository = AssistantRepository(db, project: context.project)
        guard var assistant = try repository.find(context.parameter("assistant_id")) else {
            throw APIError.notFound("assistant", context.parameter("assistant_id"))
        }
        if let model = try body.string("model").value { assistant.model = model }
        try apply(body, to: &assistant)
        assistant.toolResources = try ToolResourceStores.resolve(assistant.toolResources, context: context, db: db) ?? .null
        try repository.update(assistant)
        return assistant.wire
    }

    /// The fields create and modify share; absent ones keep their value, `null` clears.
    static func apply(_ body: RequestObject, to assistant: inout Assistant) throws {
        assistant.name = try body.string("name", maxLength: 256).applied(to: assistant.name)
        assistant.description = try body.string("description", maxLength: 512).applied(to: assistant.description)
        assistant.instructions = try body.string("instructions", maxLength: 256_000).applied(to: assistant.instructions)
        assistant.reasoningEffort = try body.oneOf("reasoning_effort", reasoningEfforts).applied(to: assistant.reasoningEffort)
        if let tools = try Validate.tools(try body.array("tools", maxItems: 128)) { assistant.tools = tools }
        if let resources = try Validate.toolResources(body.field("tool_resources"), allowVectorStores: true) {
            assistant.toolResources = resources
        }
        if let metadata = try Validate.metadata(body.field("metadata")) { assistant.metadata = metadata }
        assistant.temperature = try body.number("temperature", in: 0...2).applied(to: assistant.temperature)
        assistant.topP = try body.number("top_p", in: 0...1).applied(to: assistant.topP)
        if let format = try Validate.responseFormat(body.field("response_format")) { assistant.responseFormat = format }
    }

    static func retrieve(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let id = context.parameter("assistant_id")
        guard let assistant = try AssistantRepository(db, project: context.project).find(id) else {
            throw APIError.notFound("assistant", id)
        }
        return assistant.wire
    }

    static func list(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let page = try AssistantRepository(db, project: context.project).list(try context.listQuery())
        return Wire.list(page, \.wire, id: \.id)
    }

    static func delete(_ context: APIContext, _ db: any SQLSession) throws -> JSONValue {
        let id = context.parameter("assistant_id")
        guard try AssistantRepository(db, project: context.project).delete(id) else {
            throw APIError.notFound("assistant", id)
        }
        return Wire.deleted(id, object: "assistant.deleted")
    }
}
