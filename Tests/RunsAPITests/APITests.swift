import Foundation
import Logging
import Testing
@testable import HTTPServer
@testable import RunsAPI
import RunsEngine
import StoreTestSupport
@testable import RunsDomain
@testable import RunsStorage

/// The application driven in-process through a real server on port 0.
final class LiveServer: @unchecked Sendable {
    let scratch: TemporaryDatabase
    let application: RunnelApplication
    let server: HTTPServer

    init(keys: [APIKeys.Entry] = []) throws {
        scratch = try TemporaryDatabase()
        application = RunnelApplication(database: scratch.database, keys: APIKeys(keys), log: .quiet)
        server = try HTTPServer(host: "127.0.0.1", port: 0, limits: ServerLimits(), loopCount: 1,
                                errorResponse: RunnelApplication.httpErrorResponse, handler: application.handle)
    }

    deinit {
        server.shutdown(gracePeriod: 1)
    }

    func call(_ method: String, _ path: String, body: String? = nil, key: String? = nil) throws -> (Int, JSONValue, [String: String]) {
        let client = try TestHTTPClient(port: server.port)
        var request = "\(method) \(path) HTTP/1.1\r\nHost: test\r\nContent-Length: \(body?.utf8.count ?? 0)\r\n"
        if let key { request += "Authorization: Bearer \(key)\r\n" }
        client.send(request + "\r\n" + (body ?? ""))
        let response = try client.readResponse()
        return (response.status, try JSONValue.parse(response.body), response.headers)
    }
}

struct APITests {
    @Test func threadLifecycleThroughHTTP() throws {
        let live = try LiveServer()
        let (status, thread, headers) = try live.call("POST", "/v1/threads", body: #"{"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(status == 200)
        #expect(headers["x-request-id"]?.hasPrefix("req_") == true)
        let threadID = try #require(thread["id"]?.stringValue)
        let (_, messages, _) = try live.call("GET", "/threads/\(threadID)/messages")
        #expect(messages["has_more"] == false)
        guard case .array(let items)? = messages["data"] else {
            Issue.record("no data")
            return
        }
        #expect(items.first?["content"] == [MessageInput.textPart("hello")])
        let (deleteStatus, deleted, _) = try live.call("DELETE", "/v1/threads/\(threadID)")
        #expect(deleteStatus == 200)
        #expect(deleted["object"] == "thread.deleted")
        let (missing, error, _) = try live.call("GET", "/v1/threads/\(threadID)")
        #expect(missing == 404)
        #expect(error["error"]?["message"] == .string("No thread found with id '\(threadID)'."))
    }

    @Test func validationErrorsNameTheParameter() throws {
        let live = try LiveServer()
        let (status, body, _) = try live.call("POST", "/v1/assistants", body: #"{"model":"m","temperature":3}"#)
        #expect(status == 400)
        #expect(body["error"]?["param"] == "temperature")
        let (missing, missingBody, _) = try live.call("POST", "/v1/assistants", body: "{}")
        #expect(missing == 400)
        #expect(missingBody["error"]?["code"] == "missing_required_parameter")
        let (limit, limitBody, _) = try live.call("GET", "/v1/assistants?limit=0")
        #expect(limit == 400)
        #expect(limitBody["error"]?["param"] == "limit")
    }

    @Test func keysIsolateProjects() throws {
        let live = try LiveServer(keys: [.init(key: "key-a", project: "a"), .init(key: "key-b", project: "b")])
        let (unauthorized, body, _) = try live.call("GET", "/v1/assistants")
        #expect(unauthorized == 401)
        #expect(body["error"]?["code"] == "invalid_api_key")
        #expect(try live.call("GET", "/v1/assistants", key: "key-c").0 == 401)
        let (_, assistant, _) = try live.call("POST", "/v1/assistants", body: #"{"model":"m"}"#, key: "key-a")
        let id = try #require(assistant["id"]?.stringValue)
        #expect(try live.call("GET", "/v1/assistants/\(id)", key: "key-a").0 == 200)
        let (other, otherBody, _) = try live.call("GET", "/v1/assistants/\(id)", key: "key-b")
        #expect(other == 404)
        #expect(otherBody["error"]?["message"] == .string("No assistant found with id '\(id)'."))
        #expect(try live.call("GET", "/health").0 == 200)
    }

    /// An ended stream leaves nothing behind: the keep-alive ticker held every stream it had
    /// served (with its writer and connection) when a second close handler replaced the first.
    @Test func aStreamThatEndedIsNoLongerKeptAlive() throws {
        let live = try LiveServer()
        let (_, assistant, _) = try live.call("POST", "/v1/assistants", body: #"{"model":"m"}"#)
        let id = try #require(assistant["id"]?.stringValue)
        let body = #"{"assistant_id":"\#(id)","stream":true,"thread":{"messages":[{"role":"user","content":"hi there"}]}}"#
        let client = try TestHTTPClient(port: live.server.port)
        client.send("POST /v1/threads/runs HTTP/1.1\r\nHost: test\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let stream = try client.readUntil("0\r\n\r\n")
        #expect(stream.contains("event: thread.run.completed") && stream.contains("data: [DONE]"))
        let deadline = Date().addingTimeInterval(5)
        while live.application.engine.keepAlive.streamCount > 0, Date() < deadline { usleep(10_000) }
        #expect(live.application.engine.keepAlive.streamCount == 0)
    }
}
