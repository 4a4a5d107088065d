import Foundation
import Synchronization
import Testing
import RunsDomain
@testable import RunsEngine
import RunsStorage
import RunsWire

/// A channel in memory shared by several buses, delivering every payload to every listener in
/// order, as LISTEN/NOTIFY does; it counts payloads over its limit, which NOTIFY would refuse.
/// A listener can be made deaf, as one whose connection dropped, and told it is back.
final class MemoryChannel: @unchecked Sendable {
    let maxPayloadBytes = 300
    private let listeners = Mutex<[(receive: @Sendable (String) -> Void, resumed: @Sendable () -> Void, deaf: Bool)]>([])
    let oversized = Atomic<Int>(0)
    let lock = NSLock()

    /// A bus's view of the channel: the same channel, its own place among the listeners.
    func endpoint() -> Endpoint { Endpoint(channel: self) }

    func deafen(_ index: Int, _ deaf: Bool) {
        let resumed = listeners.withLock { listeners -> (@Sendable () -> Void)? in
            listeners[index].deaf = deaf
            return deaf ? nil : listeners[index].resumed
        }
        resumed?()
    }

    func add(_ receive: @escaping @Sendable (String) -> Void, _ resumed: @escaping @Sendable () -> Void) {
        listeners.withLock { $0.append((receive, resumed, false)) }
    }

    func send(_ payloads: [String]) -> Bool {
        // One sender at a time, as one NOTIFY connection per node and a server that orders them.
        lock.lock()
        defer { lock.unlock() }
        for payload in payloads {
            if payload.utf8.count > maxPayloadBytes { oversized.add(1, ordering: .relaxed) }
            for listener in listeners.withLock({ $0 }) where !listener.deaf { listener.receive(payload) }
        }
        return true
    }

    struct Endpoint: NotificationChannel {
        let channel: MemoryChannel
        var maxPayloadBytes: Int { channel.maxPayloadBytes }
        func start(receive: @escaping @Sendable (String) -> Void, resumed: @escaping @Sendable () -> Void) {
            channel.add(receive, resumed)
        }
        func send(_ payloads: [String]) -> Bool { channel.send(payloads) }
        func stop() {}
    }
}

/// What one bus delivered, in order.
final class Delivered: Sendable {
    let messages = Mutex<[ClusterMessage]>([])

    func add(_ message: ClusterMessage) {
        if case .work = message { return }
        messages.withLock { $0.append(message) }
    }

    var runIDs: [String] {
        messages.withLock { $0 }.compactMap { message in
            if case .events(let runID, _) = message { return runID }
            return nil
        }
    }

    func wait(for count: Int) async throws {
        for _ in 0..<300 where runIDs.count < count { try await Task.sleep(nanoseconds: 10_000_000) }
    }
}

struct NotifyBusTests {
    @Test func largeMessagesArriveWholeInOrderAndOnlyAtOtherNodes() async throws {
        let channel = MemoryChannel()
        let sender = NotifyBus(channel: channel.endpoint(), node: "a")
        let receiver = NotifyBus(channel: channel.endpoint(), node: "b")
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

extension NotifyBusTests {
    /// Node "a" sending, node "b" (the channel's second listener) delivering what it hears; the
    /// caller keeps the receiver alive, since the channel holds it weakly.
    static func senderAndReceiver() -> (channel: MemoryChannel, sender: NotifyBus, receiver: NotifyBus, delivered: Delivered) {
        let channel = MemoryChannel()
        let sender = NotifyBus(channel: channel.endpoint(), node: "a")
        let receiver = NotifyBus(channel: channel.endpoint(), node: "b", gapPatience: 5)
        let delivered = Delivered()
        sender.start { _ in }
        receiver.start(deliver: delivered.add)
        return (channel, sender, receiver, delivered)
    }

    /// A receiver that missed messages in the middle asks for them again and delivers every
    /// message once, in order.
    @Test func aGapIsFilledFromTheSendersKeptMessages() async throws {
        let (channel, sender, receiver, delivered) = Self.senderAndReceiver()
        defer { withExtendedLifetime(receiver) {} }
        let ids = (0..<30).map { "run_\($0)" }
        for id in ids.prefix(5) { sender.announce(.events(runID: id, [RunEvent(.messageDelta, ["text": "x"])])) }
        try await delivered.wait(for: 5)
        channel.deafen(1, true)
        for id in ids[5..<20] { sender.announce(.events(runID: id, [RunEvent(.messageDelta, ["text": .string(String(repeating: "y", count: 500))])])) }
        try await Task.sleep(nanoseconds: 100_000_000)
        channel.deafen(1, false)
        for id in ids[20...] { sender.announce(.events(runID: id, [RunEvent(.messageDelta, ["text": "z"])])) }
        try await delivered.wait(for: ids.count)
        #expect(delivered.runIDs == ids)
    }

    /// Messages missed at the end (nothing follows to show the gap) come after the reconnect,
    /// when the receiver asks every sender for its latest number.
    @Test func aGapAtTheEndIsFoundAfterTheReconnect() async throws {
        let (channel, sender, receiver, delivered) = Self.senderAndReceiver()
        defer { withExtendedLifetime(receiver) {} }
        sender.announce(.events(runID: "run_first", []))
        try await delivered.wait(for: 1)
        channel.deafen(1, true)
        sender.announce(.events(runID: "run_missed", []))
        sender.announce(.cancel(runID: "run_cancelled"))
        try await Task.sleep(nanoseconds: 100_000_000)
        channel.deafen(1, false)
        try await delivered.wait(for: 2)
        for _ in 0..<100 where delivered.messages.withLock({ $0.count }) < 3 { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(delivered.runIDs == ["run_first", "run_missed"])
        let last = delivered.messages.withLock { $0.last }
        if case .cancel(let runID)? = last { #expect(runID == "run_cancelled") } else { Issue.record("the missed cancel never came") }
    }
}

extension NotifyBusTests {
    /// A sender never heard from before the interruption is followed from its first message.
    @Test func everythingFromASenderFirstHeardOfAfterAnInterruptionArrives() async throws {
        let (channel, sender, receiver, delivered) = Self.senderAndReceiver()
        defer { withExtendedLifetime(receiver) {} }
        channel.deafen(1, true)
        for index in 0..<3 { sender.announce(.events(runID: "run_\(index)", [])) }
        try await Task.sleep(nanoseconds: 100_000_000)
        channel.deafen(1, false)
        try await delivered.wait(for: 3)
        #expect(delivered.runIDs == ["run_0", "run_1", "run_2"])
    }
}
