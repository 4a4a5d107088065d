import Dispatch
import RunsDomain
import RunsStorage
import RunsWire

/// The cluster bus over a database's notification channel (PostgreSQL's LISTEN/NOTIFY). Each
/// node sends from one serial queue, so its messages arrive everywhere in the order it sent them.
/// A message larger than one payload travels in numbered parts and is put back together on
/// arrival. A payload is `node|kind|run|sequence|part|parts|body`.
public final class NotifyBus: ClusterBus {
    /// Messages waiting for their remaining parts; a sender that died mid-message leaves
    /// parts behind, and the oldest are dropped past these.
    static let maxPartial = 1_000
    static let maxPartialBytes = 64 << 20

    /// A message whose parts are arriving.
    private struct Partial {
        var parts: [String?]
        var received = 0
        var bytes = 0
        let order: Int
    }

    private let channel: any NotificationChannel
    private let node: String
    private let sendQueue = DispatchQueue(label: "runnel.bus.send")
    /// Touched only on `sendQueue`.
    nonisolated(unsafe) private var sequence = 0
    /// Touched only on the channel's delivery queue.
    nonisolated(unsafe) private var partial: [String: Partial] = [:]
    nonisolated(unsafe) private var partialOrder = 0
    nonisolated(unsafe) private var partialBytes = 0

    public init(channel: any NotificationChannel, node: String) {
        self.channel = channel
        self.node = node
    }

    public func start(deliver: @escaping @Sendable (ClusterMessage) -> Void) {
        channel.start(receive: { [weak self] payload in
            if let message = self?.assemble(payload) { deliver(message) }
        }, lost: {
            // Messages may have been missed: waiting runs are looked for now, and streams fall
            // back on the stored state.
            deliver(.work)
        })
    }

    public func stop() {
        channel.stop()
    }

    public func announce(_ message: ClusterMessage) {
        let (kind, runID, body): (String, String, String) = switch message {
        case .events(let runID, let events):
            ("e", runID, JSONValue.array(events.map { [.string($0.name), $0.data] }).jsonText)
        case .cancel(let runID): ("c", runID, "")
        case .work: ("w", "", "")
        }
        sendQueue.async { [self] in
            sequence += 1
            // Room for the header: node, kind and run as given, and up to 20 digits per number.
            let room = channel.maxPayloadBytes - node.utf8.count - runID.utf8.count - 70
            let parts = Self.split(body, bytes: max(64, room))
            _ = channel.send(parts.enumerated().map { index, part in
                "\(node)|\(kind)|\(runID)|\(sequence)|\(index)|\(parts.count)|" + part
            })
        }
    }

    /// Cuts text into pieces of at most `bytes` UTF-8 bytes, never inside a character.
    static func split(_ text: String, bytes: Int) -> [String] {
        guard text.utf8.count > bytes else { return [text] }
        var parts: [String] = []
        var current = ""
        var size = 0
        for scalar in text.unicodeScalars {
            let length = String(scalar).utf8.count
            if size + length > bytes {
                parts.append(current)
                current = ""
                size = 0
            }
            current.unicodeScalars.append(scalar)
            size += length
        }
        parts.append(current)
        return parts
    }

    /// A complete message from one part, or nil while parts are missing (or it is our own).
    private func assemble(_ payload: String) -> ClusterMessage? {
        let fields = payload.split(separator: "|", maxSplits: 6, omittingEmptySubsequences: false)
        guard fields.count == 7, fields[0] != node[...], let part = Int(fields[4]), let count = Int(fields[5]),
              count >= 1, count <= 10_000, (0..<count).contains(part) else { return nil }
        let runID = String(fields[2])
        var body = String(fields[6])
        if count > 1 {
            let key = "\(fields[0])|\(fields[3])"
            partialOrder += 1
            // The slots count against the budget too: a count alone must not buy memory.
            var entry = partial.removeValue(forKey: key)
                ?? Partial(parts: Array(repeating: nil, count: count), bytes: count * MemoryLayout<String?>.stride, order: partialOrder)
            partialBytes -= entry.bytes
            // Parts that disagree on the count drop the message; a repeated part is ignored.
            guard entry.parts.count == count else { return nil }
            if entry.parts[part] == nil {
                entry.parts[part] = body
                entry.received += 1
                entry.bytes += body.utf8.count
            }
            guard entry.received == count else {
                partial[key] = entry
                partialBytes += entry.bytes
                while partial.count > Self.maxPartial || partialBytes > Self.maxPartialBytes,
                      let oldest = partial.min(by: { $0.value.order < $1.value.order }) {
                    partialBytes -= oldest.value.bytes
                    partial[oldest.key] = nil
                }
                return nil
            }
            body = entry.parts.map { $0 ?? "" }.joined()
        }
        switch fields[1] {
        case "c": return .cancel(runID: runID)
        case "w": return .work
        case "e":
            guard case .array(let items)? = try? JSONValue.parse(body) else { return nil }
            let events = items.compactMap { item -> RunEvent? in
                guard case .array(let pair) = item, pair.count == 2, let name = pair[0].stringValue else { return nil }
                return RunEvent(name: name, data: pair[1])
            }
            return .events(runID: runID, events)
        default: return nil
        }
    }
}
