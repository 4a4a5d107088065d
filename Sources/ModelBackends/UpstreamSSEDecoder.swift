/// A Server-Sent Events decoder fed bytes in any split (WHATWG algorithm: lines end in CR, LF or
/// CRLF; `data` lines join with LF; comments and unknown fields are skipped; an event is
/// dispatched at the empty line).
///
/// What it holds is bounded, because the peer is a server Runnel does not control: a line or an
/// event over its limit, or bytes that are not UTF-8, end the stream with an error naming the fault.
public struct UpstreamSSEDecoder: Sendable {
    public struct Event: Sendable, Equatable {
        public var name: String?
        public var data: String
    }

    public struct Fault: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    public let maxLineBytes: Int
    public let maxEventBytes: Int
    private var line: [UInt8] = []
    private var skipLF = false
    private var name: String?
    private var data: [String] = []
    private var dataBytes = 0
    private var hasData = false

    public init(maxLineBytes: Int = 8 << 20, maxEventBytes: Int = 16 << 20) {
        self.maxLineBytes = maxLineBytes
        self.maxEventBytes = maxEventBytes
    }

    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(Fault) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            if skipLF {
                skipLF = false
                if byte == 10 { continue }
            }
            if byte == 13 || byte == 10 {
                skipLF = byte == 13
                if let event = try finishLine() { events.append(event) }
            } else {
                guard line.count < maxLineBytes else {
                    throw Fault(description: "The model server sent a stream line longer than \(maxLineBytes) bytes.")
                }
                line.append(byte)
            }
        }
        return events
    }

    private mutating func finishLine() throws(Fault) -> Event? {
        defer { line.removeAll(keepingCapacity: line.capacity <= 64 * 1024) }
        if line.isEmpty {
            defer { name = nil; data = []; dataBytes = 0; hasData = false }
            guard hasData else { return nil }
            return Event(name: name, data: data.joined(separator: "\n"))
        }
        if line[0] == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == 32 { valueStart += 1 }
        switch String(decoding: line[..<colon], as: UTF8.self) {
        case "event":
            name = try text(line[valueStart...])
        case "data":
            dataBytes += line.count - valueStart + 1
            guard dataBytes <= maxEventBytes else {
                throw Fault(description: "The model server sent a stream event larger than \(maxEventBytes) bytes.")
            }
            data.append(try text(line[valueStart...]))
            hasData = true
        default:
            break
        }
        return nil
    }

    private func text(_ bytes: ArraySlice<UInt8>) throws(Fault) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Fault(description: "The model server sent a stream event that is not valid UTF-8.")
        }
        return text
    }
}
