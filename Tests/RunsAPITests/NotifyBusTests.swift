import Synchronization
import Testing
import RunsDomain
@testable import RunsEngine
import RunsStorage
import RunsWire

/// A channel in memory shared by several buses, delivering every payload to every listener in
/// order, as LISTEN/NOTIFY does; it refuses payloads over its limit as NOTIFY would.
final class MemoryChannel: NotificationChannel, @unchecked Sendable {
    let maxPayloadBytes = 300
    private let listeners = Mutex<[@Sendable (String) -> Void]>([])
    let oversized = Atomic<Int>(0)

    func start(receive: @escaping @Sendable (String) -> Void, lost: @escaping @Sendable () -> Void) {
        listeners.withLock { $0.append(receive) }
    }

    func send(_ payloads: [String]) -> Bool {
        for payload in payloads {
            if payload.utf8.count > maxPayloadBytes { oversized.add(1, ordering: .relaxed) }
            for listener in listeners.withLock({ $0 }) { listener(payload) }
        }
        return true
    }

    func stop() {}
}

struct NotifyBusTests {
    @Test func largeMessagesArriveWholeInOrderAndOnlyAtOtherNodes() async throws {
        let channel = MemoryChannel()
        let sender = NotifyBus(channel: channel, node: "a")
        let receiver = NotifyBus(channel: channel, node: "b")
        let received = Mutex<[ClusterMessage]>([])
        let echoed = Atomic<Int>(0)
        sender.start { _ in echoed.add(1, ordering: .relaxed) }
        receiver.start { message in received.withLock { $0.append(message) } }
        // Text of many sizes, with multi-byte characters and separators that must not split.
        let texts = (0..<20).map { index in String(repeating: "é|ø€🙂 ", count: index * 37) }
        for (index, text) in texts.enumerated() {
            sender.announce(.events(runID: "run_\(index)", [RunEvent(.messageDelta, ["text": .string(text)])]))
        }
        sender.announce(.cancel(runID: "run_x"))
        for _ in 0..<200 where received.withLock({ $0.count }) < texts.count + 1 {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        let messages = received.withLock { $0 }
        #expect(messages.count == texts.count + 1)
        for (index, text) in texts.enumerated() {
            guard case .events(let runID, let events) = messages[index] else {
                Issue.record("message \(index) is not events")
                continue
            }
            #expect(runID == "run_\(index)")
            #expect(events.first?.kind == .messageDelta && events.first?.data["text"]?.stringValue == text)
        }
        if case .cancel(let runID) = messages.last { #expect(runID == "run_x") } else { Issue.record("no cancel") }
        #expect(echoed.load(ordering: .relaxed) == 0, "a node must not hear itself")
        #expect(channel.oversized.load(ordering: .relaxed) == 0)
    }
}
