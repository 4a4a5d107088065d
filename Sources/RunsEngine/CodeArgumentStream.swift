/// The `code` of a `code_interpreter` call, decoded from its JSON arguments as they stream in,
/// so the code can be streamed as `input` pieces before the arguments are complete. Escapes
/// split across fragments wait for their end; anything before the `"code"` key is skipped.
struct CodeArgumentStream {
    /// Where the reading is: looking for the key (with how much of it matched so far), between
    /// the key and its value, inside the value, or past it.
    private enum Phase {
        case key(matched: Int)
        case colon
        case value
        case string
        case done
    }

    private static let key = Array("\"code\"".utf8)
    private var phase = Phase.key(matched: 0)
    /// Bytes not consumed yet: only an escape cut by a fragment's end waits here.
    private var raw: [UInt8] = []

    /// Decoded code from what `fragment` completed; empty while the value has not begun. Each
    /// byte is looked at once (an escape at most twice), so arguments of any length cost linear time.
    mutating func feed(_ fragment: String) -> String {
        if case .done = phase { return "" }
        raw += fragment.utf8
        var decoded: [UInt8] = []
        var position = 0
        scan: while position < raw.count {
            let byte = raw[position]
            switch phase {
            case .key(let matched):
                // The key's only repeated byte is its quote, so a mismatch restarts at a quote.
                let next = byte == Self.key[matched] ? matched + 1 : (byte == UInt8(ascii: "\"") ? 1 : 0)
                phase = next == Self.key.count ? .colon : .key(matched: next)
            case .colon:
                phase = byte == UInt8(ascii: ":") ? .value : Self.afterSpace(byte, or: .colon)
            case .value:
                phase = byte == UInt8(ascii: "\"") ? .string : Self.afterSpace(byte, or: .value)
            case .string:
                if byte == UInt8(ascii: "\"") {
                    phase = .done
                } else if byte == UInt8(ascii: "\\") {
                    guard let (bytes, length) = escape(at: position) else { break scan }
                    decoded += bytes
                    position += length
                    continue
                } else {
                    decoded.append(byte)
                }
            case .done:
                break scan
            }
            position += 1
        }
        raw.removeFirst(position)
        if case .done = phase { raw = [] }
        // Fragments are whole strings, so a UTF-8 sequence is never cut; escapes decode whole.
        return String(decoding: decoded, as: UTF8.self)
    }

    /// Spaces keep the phase; anything else means the word "code" was a value, not the key.
    private static func afterSpace(_ byte: UInt8, or phase: Phase) -> Phase {
        if byte == 32 || byte == 9 || byte == 10 || byte == 13 { return phase }
        return .key(matched: byte == UInt8(ascii: "\"") ? 1 : 0)
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
