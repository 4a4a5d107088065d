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

    /// A field whose schema does not allow `null` (most nested ones): absent or a value. A
    /// stored `null` would break every later read of the object, so it is refused.
    public func nonNull(_ key: String, expected: String) throws(APIError) -> JSONValue? {
        try checked(key, nullable: false, expected: expected).value
    }

    /// A nested object kept whole (a JSON schema, a chunking strategy): absent, or an object.
    public func object(_ key: String) throws(APIError) -> JSONValue? {
        guard let value = try nonNull(key, expected: "an object") else { return nil }
        guard case .object = value else { throw Validate.typeError(param(key), expected: "an object", got: value) }
        return value
    }

    /// - Parameter nullable: whether the schema allows `null` here (left out means "keep" and
    ///   `null` means "clear" for top-level fields of modify requests).
    private func checked(_ key: String, nullable: Bool, expected: String) throws(APIError) -> Field<JSONValue> {
        let value = field(key)
        if !nullable, case .null = value { throw Validate.typeError(param(key), expected: expected, got: .null) }
        return value
    }

    public func string(_ key: String, maxLength: Int? = nil, nullable: Bool = true) throws(APIError) -> Field<String> {
        try checked(key, nullable: nullable, expected: "a string").map { value throws(APIError) in
            try Validate.string(value, param: param(key), maxLength: maxLength)
        }
    }

    public func requiredString(_ key: String, maxLength: Int? = nil) throws(APIError) -> String {
        try Validate.string(try required(key), param: param(key), maxLength: maxLength)
    }

    public func number(_ key: String, in range: ClosedRange<Double>, nullable: Bool = true) throws(APIError) -> Field<Double> {
        try checked(key, nullable: nullable, expected: "a number").map { value throws(APIError) in
            try Validate.number(value, param: param(key), in: range)
        }
    }

    public func integer(_ key: String, minimum: Int? = nil, maximum: Int? = nil, nullable: Bool = true) throws(APIError) -> Field<Int> {
        try checked(key, nullable: nullable, expected: "an integer").map { value throws(APIError) in
            try Validate.integer(value, param: param(key), minimum: minimum, maximum: maximum)
        }
    }

    public func bool(_ key: String, nullable: Bool = true) throws(APIError) -> Field<Bool> {
        try checked(key, nullable: nullable, expected: "a boolean").map { value throws(APIError) in
            guard case .bool(let flag) = value else { throw Validate.typeError(param(key), expected: "a boolean", got: value) }
            return flag
        }
    }

    public func array(_ key: String, maxItems: Int? = nil, minItems: Int = 0, nullable: Bool = true) throws(APIError) -> Field<[JSONValue]> {
        try checked(key, nullable: nullable, expected: "an array").map { value throws(APIError) in
            try Validate.array(value, param: param(key), maxItems: maxItems, minItems: minItems)
        }
    }

    public func oneOf(_ key: String, _ values: [String], nullable: Bool = true) throws(APIError) -> Field<String> {
        try string(key, nullable: nullable).map { text throws(APIError) in
            try Validate.oneOf(text, values, param: param(key))
            return text
        }
    }
}
