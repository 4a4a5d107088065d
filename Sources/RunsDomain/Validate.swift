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
        case .number(let double) where abs(double) < 9e15:
            guard let whole = Int(exactly: double) else { throw typeError(param, expected: "an integer", got: value) }
            integer = whole
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
                ? listed.dropLast().joined(separator: ", ") + " and " + (listed.last ?? "")
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

    /// `2` rather than `2.0`, as OpenAI prints limits.
    static func format(_ number: Double) -> String {
        abs(number) < 1e15 ? Int(exactly: number).map(String.init) ?? String(number) : String(number)
    }

    /// `^[a-zA-Z0-9_-]{1,64}$`: a function name, and the form of every id Runnel makes, so a path
    /// parameter that is not of it (a NUL, a space, a stray escape) names nothing.
    public static func isIdentifier(_ name: String) -> Bool {
        var length = 0
        for byte in name.utf8 {
            length += 1
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "_"), UInt8(ascii: "-"):
                if length > 64 { return false }
            default:
                return false
            }
        }
        return length > 0
    }

    static func stringArray(_ items: [JSONValue], param: String) throws(APIError) {
        for (index, item) in items.enumerated() {
            _ = try string(item, param: "\(param)[\(index)]")
        }
    }
}
