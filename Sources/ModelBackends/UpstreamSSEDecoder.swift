/// A Server-Sent Events decoder fed bytes in any split (WHATWG algorithm: lines end in CR, LF or
/// CRLF; `data` lines join with LF; comments and unknown fields are skipped; an event is
/// dispatched at the empty line).
public struct UpstreamSSEDecoder: Sendable {
    public struct Event: Sendable, Equatable {
        public var name: String?
        public var data: String
    }

    private var line: [UInt8] = []
    private var skipLF = false
    private var name: String?
    private var data: [String] = []
    private var hasData = false

    public init() {}

    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            if skipLF {
                skipLF = false
                if byte == 10 { continue }
            }
            if byte == 13 || byte == 10 {
                skipLF = byte == 13
                if let event = finishLine() { events.append(event) }
            } else {
                line.append(byte)
            }
        }
        return events
    }

    private mutating func finishLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer { name = nil; data = []; hasData = false }
            guard hasData else { return nil }
            return Event(name: name, data: data.joined(separator: "\n"))
        }
        if line[0] == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = String(decoding: line[..<colon], as: UTF8.self)
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == 32 { valueStart += 1 }
        let value = String(decoding: line[valueStart...], as: UTF8.self)
        switch field {
        case "event": name = value
        case "data":
            data.append(value)
            hasData = true
        default: break
        }
        return nil
    }
}
