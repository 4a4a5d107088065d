/// A field as the client sent it: left out, sent as `null`, or given a value. Modify requests
/// need all three (left out keeps, `null` clears).
public enum Field<Value> {
    case absent
    case null
    case value(Value)

    public var value: Value? {
        if case .value(let value) = self { return value }
        return nil
    }

    public var isAbsent: Bool {
        if case .absent = self { return true }
        return false
    }

    /// Transforms a present value, keeping absent and null as they are.
    public func map<T>(_ transform: (Value) throws(APIError) -> T) throws(APIError) -> Field<T> {
        switch self {
        case .absent: .absent
        case .null: .null
        case .value(let value): .value(try transform(value))
        }
    }

    /// The new value for a stored optional: the old one if absent, nil if `null`.
    public func applied(to current: Value?) -> Value? {
        switch self {
        case .absent: current
        case .null: nil
        case .value(let value): value
        }
    }
}

/// Reads one JSON object of a request body, naming the offending parameter by its full path
/// (`tools[0].function.name`) in every error, with OpenAI's messages and codes.
public struct RequestObject {
    public let fields: [(String, JSONValue)]
    public let path: String

    /// - Parameter allowed: every key the object may have; any other is `unknown_parameter`.
    public init(_ value: JSONValue, path: String = "", allowed: [String]) throws(APIError) {
        guard case .object(let fields) = value else {
            if path.isEmpty {
                throw .invalid("The request body must be a JSON object, but got \(value.typeName).", code: "invalid_type")
            }
            throw .invalid("Invalid type for '\(path)': expected an object, but got \(value.typeName) instead.", param: path, code: "invalid_type")
        }
        for (key, _) in fields where !allowed.contains(key) {
            let param = path.isEmpty ? key : "\(path).\(key)"
            throw .invalid("Unknown parameter: '\(param)'.", param: param, code: "unknown_parameter")
        }
        self.fields = fields
        self.path = path
    }

    public func param(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public subscript(key: String) -> JSONValue? { fields.last { $0.0 == key }?.1 }

    public func field(_ key: String) -> Field<JSONValue> {
        guard let value = self[key] else { return .absent }
        return value.isNull ? .null : .value(value)
    }

    public func required(_ key: String) throws(APIError) -> JSONValue {
        guard let value = field(key).value else {
            throw .invalid("Missing required parameter: '\(param(key))'.", param: param(key), code: "missing_required_parameter")
        }
        return value
    }

    public func string(_ key: String, maxLength: Int? = nil) throws(APIError) -> Field<String> {
        try field(key).map { value throws(APIError) in try Validate.string(value, param: param(key), maxLength: maxLength) }
    }

    public func requiredString(_ key: String, maxLength: Int? = nil) throws(APIError) -> String {
        try Validate.string(try required(key), param: param(key), maxLength: maxLength)
    }

    public func number(_ key: String, in range: ClosedRange<Double>) throws(APIError) -> Field<Double> {
        try field(key).map { value throws(APIError) in try Validate.number(value, param: param(key), in: range) }
    }

    public func integer(_ key: String, minimum: Int? = nil, maximum: Int? = nil) throws(APIError) -> Field<Int> {
        try field(key).map { value throws(APIError) in
            try Validate.integer(value, param: param(key), minimum: minimum, maximum: maximum)
        }
    }

    public func bool(_ key: String) throws(APIError) -> Field<Bool> {
        try field(key).map { value throws(APIError) in
            guard case .bool(let flag) = value else { throw Validate.typeError(param(key), expected: "a boolean", got: value) }
            return flag
        }
    }

    public func array(_ key: String, maxItems: Int? = nil, minItems: Int = 0) throws(APIError) -> Field<[JSONValue]> {
        try field(key).map { value throws(APIError) in
            try Validate.array(value, param: param(key), maxItems: maxItems, minItems: minItems)
        }
    }

    public func oneOf(_ key: String, _ values: [String]) throws(APIError) -> Field<String> {
        try string(key).map { text throws(APIError) in
            try Validate.oneOf(text, values, param: param(key))
            return text
        }
    }
}
