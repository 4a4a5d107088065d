import Foundation
import Synchronization
import Testing
@testable import HTTPServer

/// What the server tells its observer (the access log, the request metrics) as exchanges end.
struct ExchangeRecordTests {
    final class Records: Sendable {
        private let stored = Mutex<[HTTPExchangeRecord]>([])
        func add(_ record: HTTPExchangeRecord) { stored.withLock { $0.append(record) } }
        var all: [HTTPExchangeRecord] { stored.withLock { $0 } }

        func waitFor(count: Int) -> [HTTPExchangeRecord] {
            let deadline = Date().addingTimeInterval(5)
            while all.count < count, Date() < deadline { usleep(5_000) }
            return all
        }
    }

    @Test func answersStreamsAbandonedRequestsAndMalformedHeadsAreEachRecordedOnce() throws {
        let records = Records()
        let server = try HTTPServer(
            host: "127.0.0.1", port: 0, limits: ServerLimits(), loopCount: 1, observer: records.add,
            errorResponse: { status, message in HTTPResponse(status: status, body: Array(message.utf8)) }
        ) { request, responder in
            responder.route = "/items/{id}"
            switch request.path {
            case "/items/1": responder.send(HTTPResponse(status: 201, body: Array("hello".utf8)))
            case "/items/2":
                let writer = responder.startStream(headers: HTTPHeaders())
                DispatchQueue.global().async {
                    for piece in ["ab", "cde", "f"] { writer.write(Array(piece.utf8)) }
                    writer.finish()
                }
            default: break  // never answered: the client gives up
            }
        }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestHTTPClient(port: server.port)
        client.send("POST /items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        _ = try client.readResponse()
        client.send("GET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try client.readUntil("0\r\n\r\n")
        let answered = records.waitFor(count: 2)
        try #require(answered.count == 2)
        #expect(answered[0].method == "POST" && answered[0].route == "/items/{id}")
        #expect(answered[0].status == 201 && answered[0].bodyBytes == 5)
        #expect(answered[1].method == "GET" && answered[1].status == 200 && answered[1].bodyBytes == 6)
        #expect(answered.allSatisfy { $0.requestID.hasPrefix("req_") && $0.nanoseconds > 0 })

        do {
            // A client that resets its connection while its request is being handled.
            let leaving = try TestHTTPClient(port: server.port)
            leaving.send("GET /items/3 HTTP/1.1\r\nHost: x\r\n\r\n")
            usleep(50_000)
            var reset = linger(l_onoff: 1, l_linger: 0)
            setsockopt(leaving.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
        }
        let abandoned = try #require(records.waitFor(count: 3).dropFirst(2).first)
        #expect(abandoned.route == "/items/{id}" && abandoned.status == HTTPExchangeRecord.clientClosed)

        let malformed = try TestHTTPClient(port: server.port)
        malformed.send("NOT HTTP AT ALL\r\n\r\n")
        _ = try? malformed.readResponse()
        let all = records.waitFor(count: 4)
        try #require(all.count == 4)
        #expect(all[3].method == nil && all[3].route == nil && all[3].status == 400)
    }
}
