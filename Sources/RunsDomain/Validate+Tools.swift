/// The nested objects of assistants, threads and runs: tools, tool resources and the response
/// format. Each is returned in the form it is stored and echoed in, so a `null` the schema does
/// not allow never reaches storage and documented defaults are filled in.
extension Validate {
    /// Tool definitions (`code_interpreter`, `file_search`, `function`).
    public static func tools(_ field: Field<[JSONValue]>, param: String = "tools") throws(APIError) -> [JSONValue]? {
        guard let items = field.value else { return field.isAbsent ? nil : [] }
        var names = Set<String>()
        var tools: [JSONValue] = []
        for (index, item) in items.enumerated() {
            let path = "\(param)[\(index)]"
            guard case .object = item else { throw typeError(path, expected: "an object", got: item) }
            let type = try string(item["type"] ?? .null, param: "\(path).type")
            try oneOf(type, ["code_interpreter", "file_search", "function"], param: "\(path).type")
            switch type {
            case "function":
                let name = try function(item, path: path)
                guard names.insert(name).inserted else {
                    throw .invalid("Invalid '\(param)': duplicate function name '\(name)'.", param: "\(path).function.name", code: "invalid_value")
                }
                tools.append(item)
            case "file_search":
                tools.append(try fileSearch(item, path: path))
            default:
                _ = try RequestObject(item, path: path, allowed: ["type"])
                tools.append(item)
            }
        }
        if names.contains("file_search"), tools.contains(where: { $0["type"]?.stringValue == "file_search" }) {
            throw .invalid("Invalid '\(param)': a function may not be named 'file_search' next to the file_search tool.",
                           param: param, code: "invalid_value")
        }
        return tools
    }

    /// A function tool; returns its name.
    static func function(_ item: JSONValue, path: String) throws(APIError) -> String {
        let tool = try RequestObject(item, path: path, allowed: ["type", "function"])
        let function = try RequestObject(try tool.required("function"), path: "\(path).function",
                                         allowed: ["name", "description", "parameters", "strict"])
        let name = try function.requiredString("name")
        guard isIdentifier(name) else {
            throw .invalid(
                "Invalid '\(path).function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.",
                param: "\(path).function.name", code: "invalid_value")
        }
        _ = try function.string("description", nullable: false)
        _ = try function.object("parameters")
        _ = try function.bool("strict")
        return name
    }

    /// A file_search tool, with `ranking_options` completed by its documented defaults
    /// (the `auto` ranker, a score threshold of 0).
    static func fileSearch(_ item: JSONValue, path: String) throws(APIError) -> JSONValue {
        let tool = try RequestObject(item, path: path, allowed: ["type", "file_search"])
        guard let options = try tool.nonNull("file_search", expected: "an object") else { return ["type": "file_search"] }
        let search = try RequestObject(options, path: "\(path).file_search", allowed: ["max_num_results", "ranking_options"])
        var overrides: [(String, JSONValue)] = []
        if let limit = try search.integer("max_num_results", minimum: 1, maximum: 50, nullable: false).value {
            overrides.append(("max_num_results", .integer(limit)))
        }
        if let ranking = try search.nonNull("ranking_options", expected: "an object") {
            let rank = try RequestObject(ranking, path: search.param("ranking_options"), allowed: ["ranker", "score_threshold"])
            let ranker = try rank.oneOf("ranker", ["auto", "default_2024_08_21"], nullable: false).value ?? "auto"
            let threshold = try rank.number("score_threshold", in: 0...1, nullable: false).value ?? 0
            overrides.append(("ranking_options", ["ranker": .string(ranker), "score_threshold": .number(threshold)]))
        }
        return ["type": "file_search", "file_search": .object(overrides)]
    }

    /// `"auto"`, `{type: text}`, `{type: json_object}` or `{type: json_schema, json_schema: {name, …}}`.
    public static func responseFormat(_ field: Field<JSONValue>, param: String = "response_format") throws(APIError) -> JSONValue? {
        switch field {
        case .absent: return nil
        case .null: return "auto"
        case .value(.string(let text)):
            try oneOf(text, ["auto"], param: param)
            return .string(text)
        case .value(let value):
            let format = try RequestObject(value, path: param, allowed: ["type", "json_schema"])
            let type = try format.requiredString("type")
            try oneOf(type, ["text", "json_object", "json_schema"], param: "\(param).type")
            if type == "json_schema" {
                let schema = try RequestObject(try format.required("json_schema"), path: "\(param).json_schema",
                                               allowed: ["name", "description", "schema", "strict"])
                _ = try schema.requiredString("name", maxLength: 64)
                _ = try schema.string("description", nullable: false)
                _ = try schema.object("schema")
                _ = try schema.bool("strict")
            } else if format.field("json_schema").isAbsent == false {
                throw .invalid("Unknown parameter: '\(param).json_schema'.", param: "\(param).json_schema", code: "unknown_parameter")
            }
            return value
        }
    }

    /// `code_interpreter.file_ids` (≤ 20) and `file_search.vector_store_ids` (≤ 1), plus the
    /// `vector_stores` helper when creating.
    public static func toolResources(_ field: Field<JSONValue>, param: String = "tool_resources", allowVectorStores: Bool) throws(APIError) -> JSONValue? {
        switch field {
        case .absent: return nil
        case .null: return .null
        case .value(let value):
            let resources = try RequestObject(value, path: param, allowed: ["code_interpreter", "file_search"])
            if let interpreter = try resources.nonNull("code_interpreter", expected: "an object") {
                let object = try RequestObject(interpreter, path: resources.param("code_interpreter"), allowed: ["file_ids"])
                try stringArray(object.array("file_ids", maxItems: 20, nullable: false).value ?? [], param: object.param("file_ids"))
            }
            if let search = try resources.nonNull("file_search", expected: "an object") {
                let allowed = allowVectorStores ? ["vector_store_ids", "vector_stores"] : ["vector_store_ids"]
                let object = try RequestObject(search, path: resources.param("file_search"), allowed: allowed)
                try stringArray(object.array("vector_store_ids", maxItems: 1, nullable: false).value ?? [],
                                param: object.param("vector_store_ids"))
                for (index, store) in (try object.array("vector_stores", maxItems: 1, nullable: false).value ?? []).enumerated() {
                    let path = "\(object.param("vector_stores"))[\(index)]"
                    let helper = try RequestObject(store, path: path, allowed: ["file_ids", "chunking_strategy", "metadata"])
                    try stringArray(helper.array("file_ids", maxItems: 10_000, nullable: false).value ?? [], param: helper.param("file_ids"))
                    _ = try helper.object("chunking_strategy")
                    _ = try metadata(helper.field("metadata"), param: helper.param("metadata"))
                }
            }
            return value
        }
    }
}
