/// `value; name=token; name="quoted \" string"` header fields (Content-Type, Content-Disposition).
enum HeaderParameters {
    /// The field's value and its parameters (names lowercased; the first of a repeated name wins).
    static func split(_ field: String) -> (value: String, parameters: [String: String]) {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in field {
            if escaped {
                current.append(character)
                escaped = false
            } else if quoted && character == "\\" {
                current.append(character)
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
                current.append(character)
            } else if character == ";" && !quoted {
                pieces.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current)
        let value = pieces[0].trimmingSpaces()
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = piece[..<equals].trimmingSpaces().lowercased()
            let raw = piece[piece.index(after: equals)...].trimmingSpaces()
            guard !name.isEmpty, parameters[name] == nil else { continue }
            parameters[name] = unquote(raw)
        }
        return (value, parameters)
    }

    private static func unquote(_ raw: String) -> String {
        guard raw.count >= 2, raw.first == "\"", raw.last == "\"" else { return raw }
        var value = ""
        var escaped = false
        for character in raw.dropFirst().dropLast() {
            if escaped {
                value.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                value.append(character)
            }
        }
        return value
    }

    /// An RFC 5987 extended value, `charset'language'percent-encoded`; nil unless UTF-8 (or
    /// ASCII) and well formed.
    static func extendedValue(_ raw: String) -> String? {
        let fields = raw.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, ["utf-8", "us-ascii"].contains(fields[0].lowercased()) else { return nil }
        var bytes: [UInt8] = []
        var iterator = fields[2].utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
