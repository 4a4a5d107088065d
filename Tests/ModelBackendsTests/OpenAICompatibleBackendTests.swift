import Dispatch
import Foundation
import Synchronization
import Testing
import HTTPServer
import RunsDomain
@testable import ModelBackends

/// A chat-completions server of our own: each test scripts the chunks (or the error) it sends.
final class FakeChatServer: Sendable {
    enum Script: Sendable {
        case chunks([String], delay: Double)
        case error(Int, String)
    }

    let server: HTTPServer
    let log = ExchangeLog()

    init(_ script: Script, limits: ServerLimits = ServerLimits()) throws {
        let log = log
        server = try HTTPServer(host: "127.0.0.1", port: 0, limits: limits, loopCount: 1,
                                errorResponse: { status, _ in HTTPResponse(status: status) }) { request, responder in
            log.record((try? JSONValue.parse(request.body)) ?? .null)
            switch script {
            case .error(let status, let message):
                responder.send(HTTPResponse(status: status, body: (["error": ["message": .string(message)]] as JSONValue).serialized()))
            case .chunks(let chunks, let delay):
                let writer = responder.startStream(headers: HTTPHeaders([("content-type", "text/event-stream")]))
                writer.onClose { log.markDisconnected() }
                DispatchQueue.global().async {
                    for chunk in chunks + ["[DONE]"] {
                        guard writer.isOpen else { return }
                        writer.write(Array("data: \(chunk)\n\n".utf8))
                        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                    }
                    writer.finish()
                }
            }
        }
    }

    deinit { server.shutdown(gracePeriod: 1) }

    var backend: OpenAICompatibleBackend {
        OpenAICompatibleBackend(baseURL: "http://127.0.0.1:\(server.port)/v1", apiKey: "sk-up", timeout: 10)
    }

    static func content(_ text: String) -> String {
        (["choices": [["index": 0, "delta": ["content": .string(text)], "finish_reason": nil]]] as JSONValue).jsonText
    }

    static func call(_ index: Int, id: String? = nil, name: String? = nil, arguments: String) -> String {
        var call: [(String, JSONValue)] = [("index", .integer(index))]
        if let id { call.append(("id", .string(id))) }
        var function: [(String, JSONValue)] = [("arguments", .string(arguments))]
        if let name { function.insert(("name", .string(name)), at: 0) }
        call.append(("function", .object(function)))
        return (["choices": [["index": 0, "delta": ["tool_calls": [.object(call)]], "finish_reason": nil]]] as JSONValue).jsonText
    }

    static func finish(_ reason: String) -> String {
        (["choices": [["index": 0, "delta": [:], "finish_reason": .string(reason)]]] as JSONValue).jsonText
    }

    static let usage = (["choices": [], "usage": ["prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17]] as JSONValue).jsonText
}

/// What the fake server saw.
final class ExchangeLog: Sendable {
    private let requests = Mutex<[JSONValue]>([])
    private let disconnected = Mutex(false)

    func record(_ body: JSONValue) { requests.withLock { $0.append(body) } }
    func markDisconnected() { disconnected.withLock { $0 = true } }
    var first: JSONValue { requests.withLock { $0.first } ?? .null }
    var wasDisconnected: Bool { disconnected.withLock { $0 } }
}

let request = ModelRequest(model: "up", messages: [["role": "user", "content": "hi"]],
                           tools: [["type": "function", "function": ["name": "get_weather"]]], maxCompletionTokens: 300)

struct OpenAICompatibleBackendTests {

    @Test func textArrivesAsItStreamsWithUsage() async throws {
        let fake = try FakeChatServer(.chunks([FakeChatServer.content("Hel"), FakeChatServer.content("lo"), FakeChatServer.finish("stop"),
                                               FakeChatServer.usage], delay: 0))
        let collected = Collected()
        let outcome = try await fake.backend.generate(request) { collected.add($0) }
        #expect(collected.all == [.text("Hel"), .text("lo")])
        #expect(outcome == ModelOutcome(finishReason: .stop, usage: Usage(promptTokens: 12, completionTokens: 5)))
        let sent = fake.log.first
        #expect(sent["stream"] == true)
        #expect(sent["stream_options"] == ["include_usage": true])
        #expect(sent["max_tokens"] == 300)
        #expect(sent["tools"]?.arrayValue?.count == 1)
    }

    @Test func toolCallArgumentsSplitOverManyChunksAndParallelCalls() async throws {
        let arguments = "{\"city\": \"Paris\", \"unit\": \"c\"}"
        var chunks = [FakeChatServer.call(0, id: "call_a", name: "get_weather", arguments: "")]
        chunks += arguments.map { FakeChatServer.call(0, arguments: String($0)) }
        chunks += [FakeChatServer.call(1, id: "call_b", name: "get_time", arguments: "{}"), FakeChatServer.finish("tool_calls"), FakeChatServer.usage]
        let fake = try FakeChatServer(.chunks(chunks, delay: 0))
        let collected = Collected()
        let outcome = try await fake.backend.generate(request) { collected.add($0) }
        #expect(outcome.finishReason == .toolCalls)
        var assembled: [Int: (id: String?, name: String?, arguments: String)] = [:]
        for case .toolCall(let index, let id, let name, let piece) in collected.all {
            var entry = assembled[index] ?? (nil, nil, "")
            entry.id = entry.id ?? id
            entry.name = entry.name ?? name
            entry.arguments += piece
            assembled[index] = entry
        }
        #expect(assembled[0]?.id == "call_a" && assembled[0]?.name == "get_weather" && assembled[0]?.arguments == arguments)
        #expect(assembled[1]?.id == "call_b" && assembled[1]?.arguments == "{}")
    }

    @Test func lengthIsReported() async throws {
        let fake = try FakeChatServer(.chunks([FakeChatServer.content("a"), FakeChatServer.finish("length")], delay: 0))
        let outcome = try await fake.backend.generate(request) { _ in }
        #expect(outcome.finishReason == .length)
    }

    @Test(arguments: [429, 500, 404])
    func httpErrorsBecomeRunErrors(_ status: Int) async throws {
        let code: RunError.Code = status == 429 ? .rateLimitExceeded : .serverError
        let fake = try FakeChatServer(.error(status, "nope \(status)"))
        do {
            _ = try await fake.backend.generate(request) { _ in }
            Issue.record("expected an error")
        } catch let error as BackendError {
            #expect(error.error.code == code)
            #expect(error.error.message.contains("HTTP \(status)") && error.error.message.contains("nope \(status)"))
        }
    }

    @Test func cancelStopsTheCallAndClosesTheUpstreamConnection() async throws {
        let chunks = (0..<100).map { FakeChatServer.content("w\($0) ") }
        let fake = try FakeChatServer(.chunks(chunks, delay: 0.05))
        let collected = Collected()
        let backend = fake.backend
        let task = Task { try await backend.generate(request) { collected.add($0) } }
        while collected.all.count < 3 { try await Task.sleep(nanoseconds: 10_000_000) }
        let started = Date()
        task.cancel()
        let result = await task.result
        #expect(Date().timeIntervalSince(started) < 2)
        guard case .failure(let error) = result, error is CancellationError else {
            Issue.record("expected CancellationError, got \(result)")
            return
        }
        let deadline = Date().addingTimeInterval(5)
        while !fake.log.wasDisconnected, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        #expect(fake.log.wasDisconnected)
        #expect(collected.all.count < 50)
    }

    /// A reader that falls behind pauses the upstream at its socket: all 24 MB arrive, in order,
    /// although the server sends them faster than the first second of reading takes any.
    @Test func aSlowReaderPausesTheUpstreamInsteadOfFailing() async throws {
        let filler = String(repeating: "x", count: 8 * 1024)
        let chunks = (0..<3000).map { FakeChatServer.content("\($0) " + filler) } + [FakeChatServer.finish("stop")]
        var limits = ServerLimits()
        limits.maxBufferedResponseBytes = 64 << 20
        let fake = try FakeChatServer(.chunks(chunks, delay: 0), limits: limits)
        let collected = Collected()
        let outcome = try await fake.backend.generate(request) { delta in
            if collected.all.isEmpty { try await Task.sleep(nanoseconds: 1_000_000_000) }
            collected.add(delta)
        }
        #expect(outcome.finishReason == .stop)
        let numbers = collected.all.map { delta -> Int in
            guard case .text(let text) = delta else { return -1 }
            return Int(text.prefix { $0 != " " }) ?? -1
        }
        #expect(numbers == Array(0..<3000))
    }

    @Test func unreachableServerFailsWithTheURL() async throws {
        let backend = OpenAICompatibleBackend(baseURL: "http://127.0.0.1:9/v1", apiKey: nil, timeout: 5)
        do {
            _ = try await backend.generate(request) { _ in }
            Issue.record("expected an error")
        } catch let error as BackendError {
            #expect(error.error.code == .serverError && error.error.message.contains("127.0.0.1:9"))
        }
    }
}
