/// The limits of OpenAI's schema, with the messages and codes the real API answers.
public enum Validate {
    public static func typeError(_ param: String, expected: String, got value: JSONValue) -> APIError {
        .invalid("Invalid type for '\(param)': expected \(expected), but got \(value.typeName) instead.",
                 param: param, code: "invalid_type")
    }

    public static func string(_ value: JSONValue, param: String, maxLength: Int? = nil) throws(APIError) -> String {
        guard case .string(let text) = value else { throw typeError(param, expected: "a string", got: value) }
        if let maxLength {
            let length = text.count
            if length > maxLength {
                throw .invalid(
                    "Invalid '\(param)': string too long. Expected a string with maximum length \(maxLength), but got a string with length \(length) instead.",
                    param: param, code: "string_above_max_length")
            }
        }
        return text
    }

    public static func number(_ value: JSONValue, param: String, in range: ClosedRange<Double>) throws(APIError) -> Double {
        let number: Double
        switch value {
        case .integer(let integer): number = Double(integer)
        case .number(let double): number = double
        default: throw typeError(param, expected: "a number", got: value)
        }
        if number > range.upperBound {
            throw .invalid(
                "Invalid '\(param)': decimal above maximum value. Expected a value <= \(format(range.upperBound)), but got \(format(number)) instead.",
                param: param, code: "decimal_above_max_value")
        }
        if number < range.lowerBound {
            throw .invalid(
                "Invalid '\(param)': decimal below minimum value. Expected a value >= \(format(range.lowerBound)), but got \(format(number)) instead.",
                param: param, code: "decimal_below_min_value")
        }
        return number
    }

    public static func integer(_ value: JSONValue, param: String, minimum: Int?, maximum: Int?) throws(APIError) -> Int {
        let integer: Int
        switch value {
        case .integer(let whole): integer = whole
        case .number(let double) where double == double.rounded() && abs(double) < 9e15: integer = Int(double)
        default: throw typeError(param, expected: "an integer", got: value)
        }
        if let minimum, integer < minimum {
            throw .invalid(
                "Invalid '\(param)': integer below minimum value. Expected a value >= \(minimum), but got \(integer) instead.",
                param: param, code: "integer_below_min_value")
        }
        if let maximum, integer > maximum {
            throw .invalid(
                "Invalid '\(param)': integer above maximum value. Expected a value <= \(maximum), but got \(integer) instead.",
                param: param, code: "integer_above_max_value")
        }
        return integer
    }

    public static func array(_ value: JSONValue, param: String, maxItems: Int?, minItems: Int = 0) throws(APIError) -> [JSONValue] {
        guard case .array(let items) = value else { throw typeError(param, expected: "an array", got: value) }
        if let maxItems, items.count > maxItems {
            throw .invalid(
                "Invalid '\(param)': array too long. Expected an array with maximum length \(maxItems), but got an array with length \(items.count) instead.",
                param: param, code: "array_above_max_length")
        }
        if items.count < minItems {
            throw .invalid(
                "Invalid '\(param)': empty array. Expected an array with minimum length \(minItems), but got an array with length \(items.count) instead.",
                param: param, code: "empty_array")
        }
        return items
    }

    public static func oneOf(_ text: String, _ values: [String], param: String) throws(APIError) {
        guard values.contains(text) else {
            let listed = values.map { "'\($0)'" }
            let supported = listed.count > 1
                ? listed.dropLast().joined(separator: ", ") + " and " + listed.last!
                : listed.joined()
            throw .invalid("Invalid value: '\(text)'. Supported values are: \(supported).", param: param, code: "invalid_value")
        }
    }

    /// Up to 16 string pairs; keys up to 64 characters, values up to 512. `null` means none.
    public static func metadata(_ field: Field<JSONValue>, param: String = "metadata") throws(APIError) -> JSONValue? {
        switch field {
        case .absent: return nil
        case .null: return [:]
        case .value(let value):
            guard case .object(let pairs) = value else { throw typeError(param, expected: "an object", got: value) }
            if pairs.count > 16 {
                throw .invalid(
                    "Invalid '\(param)': too many properties. Expected an object with at most 16 properties, but got an object with \(pairs.count) properties instead.",
                    param: param, code: "object_above_max_properties")
            }
            for (key, item) in pairs {
                if key.count > 64 {
                    throw .invalid(
                        "Invalid '\(param)': metadata key '\(key.prefix(80))' is too long. Expected a key with maximum length 64, but got a key with length \(key.count) instead.",
                        param: "\(param).\(key.prefix(80))", code: "string_above_max_length")
                }
                _ = try string(item, param: "\(param).\(key)", maxLength: 512)
            }
            return value
        }
    }

    /// Tool definitions (`code_interpreter`, `file_search`, `function`), at most `maxItems`.
    public static func tools(_ field: Field<[JSONValue]>, param: String = "tools") throws(APIError) -> [JSONValue]? {
        guard let items = field.value else { return field.isAbsent ? nil : [] }
        var names = Set<String>()
        for (index, item) in items.enumerated() {
            let path = "\(param)[\(index)]"
            guard case .object = item else { throw typeError(path, expected: "an object", got: item) }
            let type = try string(item["type"] ?? .null, param: "\(path).type")
            try oneOf(type, ["code_interpreter", "file_search", "function"], param: "\(path).type")
            switch type {
            case "function":
                let tool = try RequestObject(item, path: path, allowed: ["type", "function"])
                let function = try RequestObject(try tool.required("function"), path: "\(path).function",
                                                 allowed: ["name", "description", "parameters", "strict"])
                let name = try function.requiredString("name")
                guard isFunctionName(name) else {
                    throw .invalid(
                        "Invalid '\(path).function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.",
                        param: "\(path).function.name", code: "invalid_value")
                }
                guard names.insert(name).inserted else {
                    throw .invalid("Invalid '\(param)': duplicate function name '\(name)'.", param: "\(path).function.name", code: "invalid_value")
                }
                _ = try function.string("description")
                if case .value(let schema) = function.field("parameters") {
                    guard case .object = schema else {
                        throw typeError("\(path).function.parameters", expected: "an object", got: schema)
                    }
                }
                _ = try function.bool("strict")
            case "file_search":
                let tool = try RequestObject(item, path: path, allowed: ["type", "file_search"])
                if case .value(let options) = tool.field("file_search") {
                    let search = try RequestObject(options, path: "\(path).file_search", allowed: ["max_num_results", "ranking_options"])
                    _ = try search.integer("max_num_results", minimum: 1, maximum: 50)
                    if case .value(let ranking) = search.field("ranking_options") {
                        let rank = try RequestObject(ranking, path: "\(path).file_search.ranking_options", allowed: ["ranker", "score_threshold"])
                        _ = try rank.oneOf("ranker", ["auto", "default_2024_08_21"])
                        _ = try rank.number("score_threshold", in: 0...1)
                    }
                }
            default:
                _ = try RequestObject(item, path: path, allowed: ["type"])
            }
        }
        return items
    }

    /// `2` rather than `2.0`, as OpenAI prints limits.
    static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }

    static func isFunctionName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
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
                _ = try schema.string("description")
                _ = try schema.bool("strict")
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
            if case .value(let interpreter) = resources.field("code_interpreter") {
                let object = try RequestObject(interpreter, path: "\(param).code_interpreter", allowed: ["file_ids"])
                try stringArray(object.array("file_ids", maxItems: 20), param: object.param("file_ids"))
            }
            if case .value(let search) = resources.field("file_search") {
                let allowed = allowVectorStores ? ["vector_store_ids", "vector_stores"] : ["vector_store_ids"]
                let object = try RequestObject(search, path: "\(param).file_search", allowed: allowed)
                try stringArray(object.array("vector_store_ids", maxItems: 1), param: object.param("vector_store_ids"))
                _ = try object.array("vector_stores", maxItems: 1)
            }
            return value
        }
    }

    static func stringArray(_ field: Field<[JSONValue]>, param: String) throws(APIError) {
        for (index, item) in (field.value ?? []).enumerated() {
            _ = try string(item, param: "\(param)[\(index)]")
        }
    }
}
