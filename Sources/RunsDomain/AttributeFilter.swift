/// A vector store search filter on file attributes: a comparison (`eq`, `ne`, `gt`, `gte`, `lt`,
/// `lte`, `in`, `nin`) or an `and`/`or` of filters.
public indirect enum AttributeFilter: Sendable, Equatable {
    case compare(op: String, key: String, value: JSONValue)
    case all([AttributeFilter])
    case any([AttributeFilter])

    static let comparisons = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    /// Deeper nesting than any real filter needs is refused rather than recursed into.
    static let maxDepth = 8

    public static func parse(_ value: JSONValue, param: String = "filters", depth: Int = 0) throws(APIError) -> AttributeFilter {
        guard depth < maxDepth else { throw .invalid("Invalid '\(param)': filters nest deeper than \(maxDepth) levels.", param: param) }
        guard case .object = value else { throw Validate.typeError(param, expected: "an object", got: value) }
        let type = try RequestObject(value, path: param, allowed: ["type", "key", "value", "filters"]).requiredString("type")
        if type == "and" || type == "or" {
            let object = try RequestObject(value, path: param, allowed: ["type", "filters"])
            guard let items = try object.array("filters", maxItems: 64, nullable: false).value else {
                throw .invalid("Missing required parameter: '\(object.param("filters"))'.", param: object.param("filters"),
                               code: "missing_required_parameter")
            }
            var filters: [AttributeFilter] = []
            for (index, item) in items.enumerated() {
                filters.append(try parse(item, param: "\(object.param("filters"))[\(index)]", depth: depth + 1))
            }
            return type == "and" ? .all(filters) : .any(filters)
        }
        try Validate.oneOf(type, comparisons + ["and", "or"], param: "\(param).type")
        let object = try RequestObject(value, path: param, allowed: ["type", "key", "value"])
        let key = try object.requiredString("key", maxLength: 64)
        let operand = try object.required("value")
        switch (type, operand) {
        case ("in", .array(let items)), ("nin", .array(let items)):
            for item in items where item.stringValue == nil && item.numberValue == nil {
                throw .invalid("Invalid '\(object.param("value"))': `\(type)` takes an array of strings or numbers.", param: object.param("value"))
            }
        case ("in", _), ("nin", _):
            throw .invalid("Invalid '\(object.param("value"))': `\(type)` takes an array of strings or numbers.", param: object.param("value"))
        case (_, let scalar) where scalar.isScalarAttribute:
            break
        default:
            throw .invalid("Invalid '\(object.param("value"))': expected a string, number or boolean.", param: object.param("value"))
        }
        return .compare(op: type, key: key, value: operand)
    }

    /// Whether a file with these attributes passes. A missing attribute fails every comparison
    /// except `ne` and `nin`.
    public func matches(_ attributes: JSONValue) -> Bool {
        switch self {
        case .all(let filters): return filters.allSatisfy { $0.matches(attributes) }
        case .any(let filters): return filters.contains { $0.matches(attributes) }
        case .compare(let op, let key, let value):
            guard let actual = attributes[key], !actual.isNull else { return op == "ne" || op == "nin" }
            switch op {
            case "eq": return Self.equal(actual, value)
            case "ne": return !Self.equal(actual, value)
            case "in": return value.arrayValue?.contains { Self.equal(actual, $0) } ?? false
            case "nin": return !(value.arrayValue?.contains { Self.equal(actual, $0) } ?? false)
            default:
                guard let order = Self.order(actual, value) else { return false }
                switch op {
                case "gt": return order > 0
                case "gte": return order >= 0
                case "lt": return order < 0
                default: return order <= 0
                }
            }
        }
    }

    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.numberValue, let y = b.numberValue { return x == y }
        return a == b
    }

    /// Numbers compare as numbers and strings as strings; anything else does not compare.
    static func order(_ a: JSONValue, _ b: JSONValue) -> Int? {
        if let x = a.numberValue, let y = b.numberValue { return x < y ? -1 : (x > y ? 1 : 0) }
        if let x = a.stringValue, let y = b.stringValue { return x < y ? -1 : (x > y ? 1 : 0) }
        return nil
    }

    /// Validates `attributes` of a vector store file: at most 16 keys of at most 64 characters,
    /// with string (≤ 512), number or boolean values.
    public static func attributes(_ field: Field<JSONValue>, param: String = "attributes") throws(APIError) -> JSONValue? {
        switch field {
        case .absent: return nil
        case .null: return [:]
        case .value(let value):
            guard case .object(let pairs) = value else { throw Validate.typeError(param, expected: "an object", got: value) }
            guard pairs.count <= 16 else {
                throw .invalid("Invalid '\(param)': too many properties. Expected an object with at most 16 properties, but got an object with \(pairs.count) properties instead.",
                               param: param, code: "object_above_max_properties")
            }
            for (key, item) in pairs {
                guard key.count <= 64 else {
                    throw .invalid("Invalid '\(param)': key '\(key.prefix(80))' is too long; keys have at most 64 characters.",
                                   param: param, code: "string_above_max_length")
                }
                guard item.isScalarAttribute else {
                    throw .invalid("Invalid '\(param).\(key)': expected a string, number or boolean.", param: "\(param).\(key)", code: "invalid_type")
                }
                if case .string(let text) = item, text.count > 512 {
                    throw .invalid("Invalid '\(param).\(key)': string too long; values have at most 512 characters.",
                                   param: "\(param).\(key)", code: "string_above_max_length")
                }
            }
            return value
        }
    }
}

extension JSONValue {
    var isScalarAttribute: Bool {
        switch self {
        case .string, .integer, .number, .bool: true
        default: false
        }
    }

    var numberValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }
}
