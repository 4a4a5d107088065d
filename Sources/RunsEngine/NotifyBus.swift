import DequeModule
import Dispatch
import RunsDomain
import RunsStorage
import RunsWire

/// The cluster bus over a database's notification channel (PostgreSQL's LISTEN/NOTIFY). Each
/// node numbers its messages and sends them from one serial queue, so they arrive everywhere in
/// the order it sent them. A message larger than one payload travels in numbered parts and is
/// put back together on arrival. A payload is `node|kind|run|sequence|part|parts|body`.
///
/// Nothing is lost or repeated when a receiver misses messages (its listening connection
/// dropped): it sees the gap in a sender's numbers, holds what came after it, and asks the
/// sender to send the missing ones again from what it keeps of its recent messages; after a
/// reconnect it asks every sender for its latest number, to notice a gap at the end.
public final class NotifyBus: ClusterBus {
    /// Messages waiting for their remaining parts; a sender that died mid-message leaves
    /// parts behind, and the oldest are dropped past these.
    static let maxPartial = 1_000
    static let maxPartialBytes = 64 << 20
    /// What a sender keeps of its recent messages, to send again when asked.
    static let keptMessages = 8_192
    static let keptBytes = 32 << 20
    /// Messages held behind a gap, per sender; past it, or after `gapPatience`, the gap is
    /// given up (streams then fall back on the stored state).
    static let maxHeld = 4_096
    static let maxHeldBytes = 64 << 20
    /// Senders whose numbering is followed; a sender name is only a string in a payload, so the
    /// table is bounded: when it is full, a sender with nothing held (else any) is dropped.
    static let maxSenders = 1_024
    static let requestAttempts = 8
    let gapPatience: Double

    /// A message whose parts are arriving.
    private struct Partial {
        var parts: [String?]
        var received = 0
        var bytes = 0
        let order: Int
    }

    /// What this node knows of one sender's numbering.
    private struct SenderState {
        /// The next number to deliver.
        var expected: Int
        var held: [Int: (message: ClusterMessage, bytes: Int)] = [:]
        var heldBytes = 0
        /// The highest number asked for again so far.
        var askedThrough = 0
    }

    private let channel: any NotificationChannel
    private let node: String
    private let sendQueue = DispatchQueue(label: "runnel.bus.send")
    private let receiveQueue = DispatchQueue(label: "runnel.bus.receive")
    /// Touched only on `sendQueue`.
    nonisolated(unsafe) private var sequence = 0
    nonisolated(unsafe) private var kept: Deque<(sequence: Int, payloads: [String], bytes: Int)> = []
    nonisolated(unsafe) private var keptBytes = 0
    /// Touched only on `receiveQueue`.
    nonisolated(unsafe) private var partial: [String: Partial] = [:]
    nonisolated(unsafe) private var partialOrder = 0
    nonisolated(unsafe) private var partialBytes = 0
    nonisolated(unsafe) private var senders: [String: SenderState] = [:]
    /// Until listening is first interrupted, a sender first heard of through its latest number
    /// (the answer to the question this node asks at start) is followed from there on; after an
    /// interruption, everything such a sender sent may have been missed.
    nonisolated(unsafe) private var interrupted = false
    nonisolated(unsafe) private var deliver: (@Sendable (ClusterMessage) -> Void)?

    public var reachesOtherNodes: Bool { true }

    public init(channel: any NotificationChannel, node: String, gapPatience: Double = 3) {
        self.channel = channel
        self.node = node
        self.gapPatience = gapPatience
    }

    public func start(deliver: @escaping @Sendable (ClusterMessage) -> Void) {
        receiveQueue.sync { self.deliver = deliver }
        defer { sendControl("s", to: "", body: "") }
        channel.start(receive: { [weak self] payload in
            guard let self else { return }
            receiveQueue.async { self.receive(payload) }
        }, resumed: { [weak self] in
            // Messages may have been missed: waiting runs are looked for now, and every sender
            // is asked for its latest number.
            deliver(.work)
            guard let self else { return }
            receiveQueue.async { self.interrupted = true }
            sendControl("s", to: "", body: "")
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
            let payloads = frame(kind: kind, runID: runID, sequence: sequence, body: body)
            keep(sequence, payloads)
            _ = channel.send(payloads)
        }
    }

    /// The payloads of one message: its body cut to fit, each with the header.
    private func frame(kind: String, runID: String, sequence: Int, body: String) -> [String] {
        // Room for the header: node, kind and run as given, and up to 20 digits per number.
        let room = channel.maxPayloadBytes - node.utf8.count - runID.utf8.count - 70
        let parts = Self.split(body, bytes: max(64, room))
        return parts.enumerated().map { index, part in
            "\(node)|\(kind)|\(runID)|\(sequence)|\(index)|\(parts.count)|" + part
        }
    }

    /// Control messages are not numbered (sequence 0): `r` asks `to` to send `from-through`
    /// again, `s` asks everyone for their latest number, `h` answers with it.
    private func sendControl(_ kind: String, to target: String, body: String) {
        sendQueue.async { [self] in
            _ = channel.send(frame(kind: kind, runID: target, sequence: 0, body: body))
        }
    }

    private func keep(_ sequence: Int, _ payloads: [String]) {
        let bytes = payloads.reduce(0) { $0 + $1.utf8.count }
        kept.append((sequence, payloads, bytes))
        keptBytes += bytes
        while kept.count > Self.keptMessages || keptBytes > Self.keptBytes, let oldest = kept.popFirst() {
            keptBytes -= oldest.bytes
        }
    }

    /// Sends kept messages again, as asked by a node that missed them.
    private func resend(_ range: ClosedRange<Int>) {
        sendQueue.async { [self] in
            for message in kept where range.contains(message.sequence) {
                _ = channel.send(message.payloads)
            }
        }
    }

    // MARK: receiving (on receiveQueue)

    private func receive(_ payload: String) {
        let fields = payload.split(separator: "|", maxSplits: 6, omittingEmptySubsequences: false)
        guard fields.count == 7, fields[0] != node[...], let sequence = Int(fields[3]), sequence >= 0 else { return }
        let sender = String(fields[0])
        if sequence == 0 {
            return control(kind: fields[1], sender: sender, target: String(fields[2]), body: String(fields[6]))
        }
        guard let (message, bytes) = assemble(fields) else { return }
        order(message, bytes: bytes, sequence: sequence, from: sender)
    }

    private func control(kind: Substring, sender: String, target: String, body: String) {
        switch kind {
        case "r" where target == node:
            let bounds = body.split(separator: "-").compactMap { Int($0) }
            if bounds.count == 2, bounds[0] >= 1, bounds[0] <= bounds[1] { resend(bounds[0]...bounds[1]) }
        case "s":
            sendQueue.async { [self] in
                let latest = sequence
                if latest > 0 { _ = channel.send(frame(kind: "h", runID: sender, sequence: 0, body: String(latest))) }
            }
        case "h" where target == node:
            // The sender's latest number: anything between what came and it was missed. A sender
            // first heard of this way is followed from its next message on.
            guard let latest = Int(body), latest >= 1 else { return }
            var state = senders[sender] ?? newSender(expected: interrupted ? 1 : latest + 1)
            if latest >= state.expected { ask(sender, &state, through: latest) }
            senders[sender] = state
        default: break
        }
    }

    /// Delivers a sender's messages in its order, each once, holding those that came after a gap.
    private func order(_ message: ClusterMessage, bytes: Int, sequence: Int, from sender: String) {
        // A sender first heard of through a message: it began after this node asked everyone
        // for their numbers at start, so everything from its first message on is wanted.
        var state = senders[sender] ?? newSender(expected: 1)
        defer { senders[sender] = state }
        guard sequence >= state.expected, state.held[sequence] == nil else { return }
        state.held[sequence] = (message, bytes)
        state.heldBytes += bytes
        drainHeld(&state)
        guard let first = state.held.keys.min() else { return }
        ask(sender, &state, through: first - 1)
        // Too much waits behind the gap: it is given up, and what came after it goes out.
        if state.held.count > Self.maxHeld || state.heldBytes > Self.maxHeldBytes { giveUp(&state, through: first - 1) }
    }

    /// A sender's first state, making room in the table if it is full.
    private func newSender(expected: Int) -> SenderState {
        if senders.count >= Self.maxSenders,
           let evicted = (senders.first(where: { $0.value.held.isEmpty }) ?? senders.first)?.key {
            senders[evicted] = nil
        }
        return SenderState(expected: expected)
    }

    private func drainHeld(_ state: inout SenderState) {
        while let next = state.held.removeValue(forKey: state.expected) {
            state.heldBytes -= next.bytes
            deliver?(next.message)
            state.expected += 1
        }
    }

    /// Treats everything up to `last` as lost: what is held after it is delivered.
    private func giveUp(_ state: inout SenderState, through last: Int) {
        guard state.expected <= last else { return }
        state.expected = last + 1
        for (stale, held) in state.held where stale < state.expected {
            state.held[stale] = nil
            state.heldBytes -= held.bytes
        }
        drainHeld(&state)
    }

    /// Asks the sender for the messages from `expected` through `last` not asked for yet. The
    /// request itself may be missed (the sender's listener may be down too), so it is repeated
    /// until `requestAttempts` have gone unanswered; what is still missing then is given up.
    private func ask(_ sender: String, _ state: inout SenderState, through last: Int) {
        let first = max(state.expected, state.askedThrough + 1)
        guard first <= last else { return }
        state.askedThrough = last
        request(sender, from: state.expected, through: last, attempt: 1)
    }

    /// Sends the request (the caller's state may not be stored yet), then checks on it later.
    private func request(_ sender: String, from first: Int, through last: Int, attempt: Int) {
        sendControl("r", to: sender, body: "\(first)-\(last)")
        receiveQueue.asyncAfter(deadline: .now() + gapPatience / Double(Self.requestAttempts)) { [weak self] in
            guard let self, var state = senders[sender], state.expected <= last else { return }
            if attempt < Self.requestAttempts {
                request(sender, from: state.expected, through: last, attempt: attempt + 1)
            } else {
                giveUp(&state, through: last)
                senders[sender] = state
            }
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

    /// A complete message from one part, with the bytes of its body; nil while parts are missing.
    private func assemble(_ fields: [Substring]) -> (message: ClusterMessage, bytes: Int)? {
        guard let part = Int(fields[4]), let count = Int(fields[5]), count >= 1, count <= 10_000, (0..<count).contains(part) else {
            return nil
        }
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
        return Self.decode(kind: fields[1], runID: runID, body: body).map { ($0, body.utf8.count) }
    }

    private static func decode(kind: Substring, runID: String, body: String) -> ClusterMessage? {
        switch kind {
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
