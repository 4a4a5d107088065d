import Foundation
import Synchronization
import Testing
@testable import HTTPServer

/// Chunked responses, as the SSE streams of runs use them.
struct StreamingResponseTests {
    func makeServer(limits: ServerLimits = ServerLimits(), _ handler: @escaping HTTPHandler) throws -> HTTPServer {
        try HTTPServer(host: "127.0.0.1", port: 0, limits: limits, loopCount: 1,
                       errorResponse: { status, message in HTTPResponse(status: status, body: Array(message.utf8)) },
                       handler: handler)
    }

    @Test func chunksArriveInOrderAndTheConnectionIsReused() throws {
        let closeHandlers = [Flag(), Flag()]
        let server = try makeServer { request, responder in
            if request.path == "/after" {
                responder.send(HTTPResponse(status: 200, body: Array("next".utf8)))
                return
            }
            let writer = responder.startStream(headers: HTTPHeaders([("content-type", "text/event-stream")]))
            for handler in closeHandlers { writer.onClose { handler.set() } }
            DispatchQueue.global().async {
                for index in 0..<3 { writer.write(Array("data: \(index)\n\n".utf8)) }
                writer.finish()
            }
        }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestHTTPClient(port: server.port)
        client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        let raw = try client.readUntil("0\r\n\r\n")
        #expect(raw.contains("transfer-encoding: chunked"))
        #expect(raw.contains("x-request-id: req_"))
        // Pieces written in a burst may leave in one chunk; what the chunks carry is in order.
        #expect(Self.dechunked(raw) == "data: 0\n\ndata: 1\n\ndata: 2\n\n")
        client.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(String(decoding: try client.readResponse().body, as: UTF8.self) == "next")
        // Every close handler runs once the body has ended, not only the last one registered.
        #expect(closeHandlers.allSatisfy { $0.isSet })
    }

    /// Pieces written the moment a stream starts never overtake its head, nor does its end: the
    /// head goes through the loop's queue and pieces through its wake-up source, which other
    /// streams' pieces may have queued before this head.
    @Test func piecesWrittenAtOnceFollowTheHead() throws {
        let server = try makeServer { _, responder in
            let writer = responder.startStream(headers: HTTPHeaders([("content-type", "text/plain")]))
            DispatchQueue.global().async {
                writer.write(Array("a".utf8))
                writer.write(Array("b".utf8))
                writer.finish()
            }
        }
        defer { server.shutdown(gracePeriod: 1) }
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            guard let client = try? TestHTTPClient(port: server.port) else { return }
            for _ in 0..<100 {
                client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
                let raw = try? client.readUntil("0\r\n\r\n")
                if raw.flatMap(Self.dechunked) != "ab" {
                    failures.add(1, ordering: .relaxed)
                    return
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    /// The body of a chunked response given whole (head included); bytes, since "\r\n" is one
    /// Character to a String.
    static func dechunked(_ raw: String) -> String? {
        let bytes = Array(raw.utf8)
        func lineEnd(from index: Int) -> Int? {
            (index..<max(index, bytes.count - 1)).first { bytes[$0] == 13 && bytes[$0 + 1] == 10 }
        }
        var position = 0
        while let end = lineEnd(from: position), end > position { position = end + 2 }
        guard let headEnd = lineEnd(from: position) else { return nil }
        position = headEnd + 2
        var body: [UInt8] = []
        while let end = lineEnd(from: position), let size = Int(String(decoding: bytes[position..<end], as: UTF8.self), radix: 16) {
            if size == 0 { return String(decoding: body, as: UTF8.self) }
            guard end + 2 + size <= bytes.count else { return nil }
            body += bytes[(end + 2)..<(end + 2 + size)]
            position = end + 4 + size
        }
        return nil
    }

    @Test func aVanishedClientClosesTheWriterButNotTheProducer() throws {
        let closed = Flag()
        let started = DispatchSemaphore(value: 0)
        let box = Mutex<HTTPStreamWriter?>(nil)
        let server = try makeServer { _, responder in
            let writer = responder.startStream(headers: HTTPHeaders())
            writer.onClose { closed.set() }
            box.withLock { $0 = writer }
            started.signal()
        }
        defer { server.shutdown(gracePeriod: 1) }
        do {
            let client = try TestHTTPClient(port: server.port)
            client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(started.wait(timeout: .now() + 5) == .success)
        }
        let writer = try #require(box.withLock { $0 })
        let deadline = Date().addingTimeInterval(5)
        while !closed.isSet, Date() < deadline {
            writer.write(Array("data: x\n\n".utf8))
            usleep(10_000)
        }
        #expect(closed.isSet)
        #expect(writer.isOpen == false)
    }

    @Test func aReaderThatFallsTooFarBehindIsDropped() throws {
        let closed = Flag()
        let limits = ServerLimits(maxBufferedResponseBytes: 64 * 1024)
        let server = try makeServer(limits: limits) { _, responder in
            let writer = responder.startStream(headers: HTTPHeaders())
            writer.onClose { closed.set() }
            DispatchQueue.global().async {
                let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 16 * 1024)
                for _ in 0..<2000 where writer.isOpen { writer.write(chunk) }
            }
        }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestHTTPClient(port: server.port)
        var size: Int32 = 4096
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        // Never read: the server must give up on us instead of buffering 32 MB.
        let deadline = Date().addingTimeInterval(10)
        while !closed.isSet, Date() < deadline { usleep(10_000) }
        #expect(closed.isSet)
    }
}

final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
