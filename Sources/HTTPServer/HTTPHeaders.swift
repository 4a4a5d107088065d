/// One header field; the name is stored lowercased.
public struct HTTPField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Header fields in arrival order. Names are stored lowercased, so lookups are exact compares.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [HTTPField] = []

    public init() {}

    public init(_ fields: [(String, String)]) {
        for (name, value) in fields { add(name, value) }
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append(HTTPField(name: ASCII.lowercased(name), value: value))
    }

    /// For names already known to be lowercase (the parser's, the server's own).
    mutating func addLowercased(_ name: String, _ value: String) {
        fields.append(HTTPField(name: name, value: value))
    }

    /// Replaces every field of that name with one field.
    public mutating func set(_ name: String, _ value: String) {
        let lower = ASCII.lowercased(name)
        fields.removeAll { $0.name == lower }
        fields.append(HTTPField(name: lower, value: value))
    }

    public subscript(name: String) -> String? {
        let lower = ASCII.lowercased(name)
        for field in fields where field.name == lower { return field.value }
        return nil
    }

    public func values(_ name: String) -> [String] {
        let lower = ASCII.lowercased(name)
        return fields.compactMap { $0.name == lower ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public func makeIterator() -> IndexingIterator<[HTTPField]> {
        fields.makeIterator()
    }

    /// True when a comma-separated header (Connection, Expect, …) holds the token, case-insensitively.
    /// `token` must be lowercase.
    public func hasToken(_ token: String, in name: String) -> Bool {
        let lower = ASCII.lowercased(name)
        for field in fields where field.name == lower {
            for item in field.value.utf8.split(separator: UInt8(ascii: ",")) where ASCII.equalsIgnoringCase(trimmed(item), token) {
                return true
            }
        }
        return false
    }

    private func trimmed(_ bytes: Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence {
        var slice = bytes
        while let first = slice.first, first == 32 || first == 9 { slice = slice.dropFirst() }
        while let last = slice.last, last == 32 || last == 9 { slice = slice.dropLast() }
        return slice
    }
}

enum ASCII {
    /// Lowercases ASCII letters only; header names are ASCII tokens, and this skips Unicode work.
    static func lowercased(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) else { return text }
        return String(decoding: text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    static func lowercased(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.contains(where: { $0 >= 65 && $0 <= 90 }) else { return String(decoding: bytes, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: bytes.count) { out in
            for index in 0..<bytes.count {
                let byte = bytes[index]
                out[index] = byte >= 65 && byte <= 90 ? byte + 32 : byte
            }
            return bytes.count
        }
    }

    static func equalsIgnoringCase<C: Collection<UInt8>>(_ bytes: C, _ lowercase: String) -> Bool {
        guard bytes.count == lowercase.utf8.count else { return false }
        return zip(bytes, lowercase.utf8).allSatisfy { ($0 >= 65 && $0 <= 90 ? $0 + 32 : $0) == $1 }
    }
}

extension Substring {
    func trimmingASCIISpaces() -> Substring {
        var slice = self
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return slice
    }
}
