/// A message as a client asks to create it (create message, a thread's initial `messages`, a
/// run's `additional_messages`), validated and turned into the stored output form.
public struct MessageInput: Sendable {
    public var role: MessageRole
    public var content: [JSONValue]
    public var attachments: JSONValue
    public var metadata: JSONValue

    public init(role: MessageRole, content: [JSONValue], attachments: JSONValue = [], metadata: JSONValue = [:]) {
        self.role = role
        self.content = content
        self.attachments = attachments
        self.metadata = metadata
    }

    public init(_ value: JSONValue, path: String = "") throws(APIError) {
        let body = try RequestObject(value, path: path, allowed: ["role", "content", "attachments", "metadata"])
        let role = try body.requiredString("role")
        guard let parsed = MessageRole(rawValue: role) else {
            try Validate.oneOf(role, ["user", "assistant"], param: body.param("role"))
            throw APIError.invalid("Invalid 'role'.", param: body.param("role"))
        }
        self.role = parsed
        content = try Self.content(try body.required("content"), param: body.param("content"))
        attachments = try Self.attachments(body.field("attachments"), param: body.param("attachments"))
        metadata = try Validate.metadata(body.field("metadata"), param: body.param("metadata")) ?? [:]
    }

    /// A string becomes one text part; an array holds text, image_file and image_url parts.
    static func content(_ value: JSONValue, param: String) throws(APIError) -> [JSONValue] {
        switch value {
        case .string(let text):
            guard !text.isEmpty else {
                throw .invalid("Invalid '\(param)': string too short. Expected a string with minimum length 1, but got an empty string instead.",
                               param: param, code: "string_below_min_length")
            }
            return [textPart(text)]
        case .array(let parts):
            _ = try Validate.array(value, param: param, maxItems: nil, minItems: 1)
            var output: [JSONValue] = []
            for (index, part) in parts.enumerated() {
                output.append(try contentPart(part, param: "\(param)[\(index)]"))
            }
            return output
        default:
            throw Validate.typeError(param, expected: "a string or an array of content parts", got: value)
        }
    }

    public static func textPart(_ text: String, annotations: [JSONValue] = []) -> JSONValue {
        ["type": "text", "text": ["value": .string(text), "annotations": .array(annotations)]]
    }

    static func contentPart(_ part: JSONValue, param: String) throws(APIError) -> JSONValue {
        guard case .object = part else { throw Validate.typeError(param, expected: "an object", got: part) }
        let type = try Validate.string(part["type"] ?? .null, param: "\(param).type")
        try Validate.oneOf(type, ["text", "image_file", "image_url"], param: "\(param).type")
        switch type {
        case "text":
            let object = try RequestObject(part, path: param, allowed: ["type", "text"])
            return textPart(try object.requiredString("text"))
        case "image_file":
            let object = try RequestObject(part, path: param, allowed: ["type", "image_file"])
            let image = try RequestObject(try object.required("image_file"), path: "\(param).image_file", allowed: ["file_id", "detail"])
            let fileID = try image.requiredString("file_id")
            let detail = try image.oneOf("detail", ["auto", "low", "high"], nullable: false).value ?? "auto"
            return ["type": "image_file", "image_file": ["file_id": .string(fileID), "detail": .string(detail)]]
        default:
            let object = try RequestObject(part, path: param, allowed: ["type", "image_url"])
            let image = try RequestObject(try object.required("image_url"), path: "\(param).image_url", allowed: ["url", "detail"])
            let url = try image.requiredString("url")
            guard url.hasPrefix("http://") || url.hasPrefix("https://") || url.hasPrefix("data:") else {
                throw .invalid("Invalid '\(param).image_url.url': expected a URL (http, https or data).",
                               param: "\(param).image_url.url", code: "invalid_value")
            }
            let detail = try image.oneOf("detail", ["auto", "low", "high"], nullable: false).value ?? "auto"
            return ["type": "image_url", "image_url": ["url": .string(url), "detail": .string(detail)]]
        }
    }

    /// Files attached with the tools that may use them; both are required, as in OpenAI's schema.
    static func attachments(_ field: Field<JSONValue>, param: String) throws(APIError) -> JSONValue {
        guard case .value(let value) = field else { return [] }
        let items = try Validate.array(value, param: param, maxItems: nil)
        for (index, item) in items.enumerated() {
            let path = "\(param)[\(index)]"
            let attachment = try RequestObject(item, path: path, allowed: ["file_id", "tools"])
            _ = try attachment.requiredString("file_id")
            let tools = try Validate.array(try attachment.required("tools"), param: attachment.param("tools"), maxItems: nil)
            for (toolIndex, tool) in tools.enumerated() {
                let toolObject = try RequestObject(tool, path: "\(path).tools[\(toolIndex)]", allowed: ["type"])
                _ = try Validate.oneOf(toolObject.requiredString("type"), ["code_interpreter", "file_search"], param: toolObject.param("type"))
            }
        }
        return value
    }
}
