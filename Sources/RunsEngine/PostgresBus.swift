import Dispatch
import Foundation
import RunsDomain
import RunsStorage
import RunsWire
import Synchronization

/// The cluster bus over PostgreSQL's LISTEN/NOTIFY. Each node sends on one connection from one
/// serial queue, so its notifications arrive everywhere in the order it sent them. A payload
/// may hold at most 8,000 bytes, so a larger message travels in numbered parts and is put back
/// together on arrival.
public final class PostgresBus: ClusterBus {
    static let channel = "runnel"
    /// Below NOTIFY's 8,000-byte limit with room for the header.
    static let partBytes = 7_000
    /// Messages waiting for their remaining parts; a sender that died mid-message leaves
    /// parts behind, and the oldest are dropped past this.
    static let maxPartial = 1_000

    private let store: PostgresStore
    private let node: String
    private let log: Logger
    private let sendQueue = DispatchQueue(label: "runnel.bus.send")
    private let listenQueue = DispatchQueue(label: "runnel.bus.listen")
    /// Touched only on `sendQueue`.
    nonisolated(unsafe) private var sender: PostgresConnection?
    nonisolated(unsafe) private var sequence = 0
    /// Touched only on `listenQueue`.
    nonisolated(unsafe) private var listener: PostgresConnection?
    nonisolated(unsafe) private var source: (any DispatchSourceRead)?
    nonisolated(unsafe) private var partial: [String: (parts: [String?], order: Int)] = [:]
    nonisolated(unsafe) private var partialOrder = 0
    nonisolated(unsafe) private var deliver: (@Sendable (ClusterMessage) -> Void)?
    private let stopped = Atomic<Bool>(false)

    public init(store: PostgresStore, node: String, log: Logger) {
        self.store = store
        self.node = node
        self.log = log
    }

    public func start(deliver: @escaping @Sendable (ClusterMessage) -> Void) {
        listenQueue.sync {
            self.deliver = deliver
            connectListener()
        }
    }

    public func stop() {
        stopped.store(true, ordering: .releasing)
        listenQueue.sync {
            source?.cancel()
            source = nil
            listener = nil
        }
        sendQueue.sync { sender = nil }
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
            let parts = Self.split(body, bytes: Self.partBytes)
            for (index, part) in parts.enumerated() {
                let payload = "\(node)|\(kind)|\(runID)|\(sequence)|\(index)|\(parts.count)|" + part
                guard send(payload) else { return }
            }
        }
    }

    /// Sends one notification, reconnecting once if the connection broke; false if it failed.
    private func send(_ payload: String) -> Bool {
        for attempt in 0..<2 {
            do {
                if sender == nil || sender?.isUsable == false { sender = try store.openDedicatedConnection() }
                try sender?.run("SELECT pg_notify(?, ?)", [.text(Self.channel), .text(payload)])
                return true
            } catch {
                sender = nil
                if attempt == 1 { log.warning("cluster bus: could not notify other nodes: \(error)") }
            }
        }
        return false
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

    // MARK: listening (on listenQueue)

    private func connectListener() {
        guard !stopped.load(ordering: .acquiring) else { return }
        do {
            let connection = try store.openDedicatedConnection()
            try connection.execute("LISTEN \(Self.channel)")
            listener = connection
            let source = DispatchSource.makeReadSource(fileDescriptor: connection.socket, queue: listenQueue)
            source.setEventHandler { [weak self] in self?.readNotifications() }
            source.activate()
            self.source = source
        } catch {
            log.warning("cluster bus: cannot listen for other nodes (retrying): \(error)")
            listenQueue.asyncAfter(deadline: .now() + 0.5) { [weak self] in self?.connectListener() }
        }
    }

    private func readNotifications() {
        guard let listener else { return }
        guard listener.consumeInput(), listener.isUsable else {
            log.warning("cluster bus: lost the listening connection; reconnecting")
            source?.cancel()
            source = nil
            self.listener = nil
            // Messages sent while reconnecting are lost; streams fall back on the stored state.
            deliver?(.work)
            listenQueue.asyncAfter(deadline: .now() + 0.2) { [weak self] in self?.connectListener() }
            return
        }
        for (_, payload) in listener.takeNotifications() {
            if let message = assemble(PostgresText.decode(payload)) { deliver?(message) }
        }
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
            var entry = partial[key] ?? (Array(repeating: nil, count: count), partialOrder)
            guard entry.parts.count == count else { return nil }
            entry.parts[part] = body
            guard entry.parts.allSatisfy({ $0 != nil }) else {
                partial[key] = entry
                if partial.count > Self.maxPartial, let oldest = partial.min(by: { $0.value.order < $1.value.order }) {
                    partial[oldest.key] = nil
                }
                return nil
            }
            partial[key] = nil
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
