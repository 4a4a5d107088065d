/// The `code` of a `code_interpreter` call, decoded from its JSON arguments as they stream in,
/// so the code can be streamed as `input` pieces before the arguments are complete. Escapes
/// split across fragments wait for their end; anything before the `"code"` key is skipped.
struct CodeArgumentStream {
    private var raw: [UInt8] = []
    private var position = 0
    private var inString = false
    private var finished = false

    /// Decoded code from what `fragment` completed; empty while the value has not begun.
    mutating func feed(_ fragment: String) -> String {
        raw += fragment.utf8
        if !inString {
            guard !finished, let start = valueStart() else { return "" }
            inString = true
            position = start
        }
        var decoded: [UInt8] = []
        while inString, position < raw.count {
            let byte = raw[position]
            if byte == UInt8(ascii: "\"") {
                inString = false
                finished = true
                position += 1
            } else if byte == UInt8(ascii: "\\") {
                guard let (bytes, length) = escape(at: position) else { break }
                decoded += bytes
                position += length
            } else {
                decoded.append(byte)
                position += 1
            }
        }
        // Fragments are whole strings, so a UTF-8 sequence is never cut; escapes decode whole.
        return String(decoding: decoded, as: UTF8.self)
    }

    /// Where the string value of the `"code"` key starts, once it has arrived.
    private func valueStart() -> Int? {
        let key = Array("\"code\"".utf8)
        guard raw.count > key.count else { return nil }
        var index = 0
        while index + key.count <= raw.count {
            if Array(raw[index..<(index + key.count)]) == key {
                var cursor = index + key.count
                while cursor < raw.count, raw[cursor] == 32 || raw[cursor] == 9 || raw[cursor] == 10 || raw[cursor] == 13 { cursor += 1 }
                guard cursor < raw.count else { return nil }
                guard raw[cursor] == UInt8(ascii: ":") else { index += 1; continue }
                cursor += 1
                while cursor < raw.count, raw[cursor] == 32 || raw[cursor] == 9 || raw[cursor] == 10 || raw[cursor] == 13 { cursor += 1 }
                guard cursor < raw.count else { return nil }
                return raw[cursor] == UInt8(ascii: "\"") ? cursor + 1 : nil
            }
            index += 1
        }
        return nil
    }

    /// The bytes an escape stands for and its length, or nil while it is incomplete.
    private func escape(at index: Int) -> ([UInt8], Int)? {
        guard index + 1 < raw.count else { return nil }
        switch raw[index + 1] {
        case UInt8(ascii: "n"): return ([10], 2)
        case UInt8(ascii: "t"): return ([9], 2)
        case UInt8(ascii: "r"): return ([13], 2)
        case UInt8(ascii: "b"): return ([8], 2)
        case UInt8(ascii: "f"): return ([12], 2)
        case UInt8(ascii: "u"):
            guard let high = hex(at: index + 2) else { return nil }
            if (0xD800..<0xDC00).contains(high) {
                // A surrogate pair: both halves are needed.
                guard index + 12 <= raw.count else { return nil }
                if raw[index + 6] == UInt8(ascii: "\\"), raw[index + 7] == UInt8(ascii: "u"), let low = hex(at: index + 8),
                   (0xDC00..<0xE000).contains(low) {
                    let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
                    return (Array(String(Character(scalar)).utf8), 12)
                }
                return (Array("\u{FFFD}".utf8), 6)
            }
            let scalar = Unicode.Scalar(high) ?? "\u{FFFD}"
            return (Array(String(Character(scalar)).utf8), 6)
        default: return ([raw[index + 1]], 2)
        }
    }

    private func hex(at index: Int) -> UInt32? {
        guard index + 4 <= raw.count else { return nil }
        return UInt32(String(decoding: raw[index..<(index + 4)], as: UTF8.self), radix: 16)
    }
}
