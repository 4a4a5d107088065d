import Dispatch
import HTTPServer
import RunsDomain
import RunsEngine
import RunsWire
import Synchronization

/// A Server-Sent Events response: `event:`/`data:` frames, comment keep-alives during silences,
/// and `event: done` / `data: [DONE]` after the event that ends the stream.
final class SSEStream: QuietStream {
    private let writer: HTTPStreamWriter
    private let ended = Atomic<Bool>(false)
    private let lastWrite = Atomic<Int64>(0)

    init(responder: HTTPResponder, keepAlive: KeepAliveTicker) {
        var headers = HTTPHeaders()
        headers.add("content-type", "text/event-stream; charset=utf-8")
        headers.add("cache-control", "no-cache")
        writer = responder.startStream(headers: headers)
        lastWrite.store(Int64(DispatchTime.now().uptimeNanoseconds), ordering: .relaxed)
        keepAlive.add(self)
        writer.onClose { [weak self, weak keepAlive] in
            if let self { keepAlive?.remove(self) }
        }
    }

    var isOpen: Bool { writer.isOpen && !ended.load(ordering: .acquiring) }

    /// Writes events in one piece; after one that ends the stream, `done` and the end of the body.
    func send(_ events: [RunEvent]) {
        guard !ended.load(ordering: .acquiring) else { return }
        var frame: [UInt8] = []
        frame.reserveCapacity(512 * events.count)
        var ends = false
        for event in events where !ends {
            frame.append(contentsOf: Self.eventPrefix)
            frame.append(contentsOf: event.name.utf8)
            frame.append(contentsOf: Self.dataPrefix)
            event.data.write(to: &frame)
            frame.append(contentsOf: [10, 10])
            ends = event.endsStream
        }
        if ends { frame.append(contentsOf: Self.doneFrame) }
        write(frame)
        if ends { finish() }
    }

    private static let eventPrefix = Array("event: ".utf8)
    private static let dataPrefix = Array("\ndata: ".utf8)
    private static let doneFrame = Array("event: done\ndata: [DONE]\n\n".utf8)

    /// For failures after the head went out: the SDKs raise on `event: error` with this shape.
    func fail(_ error: APIError) {
        guard !ended.load(ordering: .acquiring) else { return }
        let body: JSONValue = ["error": ["message": .string(error.message), "type": "server_error", "param": nil, "code": JSONValue(error.code)]]
        var frame = Array("event: error\ndata: ".utf8)
        body.write(to: &frame)
        frame.append(contentsOf: Array("\n\nevent: done\ndata: [DONE]\n\n".utf8))
        write(frame)
        finish()
    }

    func onClose(_ handler: @escaping @Sendable () -> Void) { writer.onClose(handler) }

    private func write(_ bytes: [UInt8]) {
        lastWrite.store(Int64(DispatchTime.now().uptimeNanoseconds), ordering: .relaxed)
        writer.write(bytes)
    }

    private func finish() {
        guard !ended.exchange(true, ordering: .acquiringAndReleasing) else { return }
        writer.finish()
    }

    func keepAliveIfQuiet(interval: Double) {
        let quietFor = Double(Int64(DispatchTime.now().uptimeNanoseconds) - lastWrite.load(ordering: .relaxed)) / 1e9
        if quietFor >= interval * 0.9, isOpen { write(Array(": keep-alive\n\n".utf8)) }
    }
}
