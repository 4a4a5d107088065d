import Testing
@testable import ModelBackends

struct UpstreamSSEDecoderTests {
    static let streams: [String] = [
        "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n",
        "event: x\r\ndata: one\r\ndata: two\r\n\r\n: comment\r\n\r\ndata:[DONE]\r\n\r\n",
        "data: cr\r\rdata: only\r\r",
        "id: 7\nretry: 10\ndata: with fields\n\ndata\n\n",
    ]

    static let expected: [[UpstreamSSEDecoder.Event]] = [
        [.init(name: nil, data: "{\"a\":1}"), .init(name: nil, data: "{\"b\":2}")],
        [.init(name: "x", data: "one\ntwo"), .init(name: nil, data: "[DONE]")],
        [.init(name: nil, data: "cr"), .init(name: nil, data: "only")],
        [.init(name: nil, data: "with fields"), .init(name: nil, data: "")],
    ]

    @Test(arguments: zip(streams, expected))
    func wholeAndByteByByteAgree(_ stream: String, _ expected: [UpstreamSSEDecoder.Event]) {
        var whole = UpstreamSSEDecoder()
        #expect(whole.feed(Array(stream.utf8)) == expected)
        var bytewise = UpstreamSSEDecoder()
        var events: [UpstreamSSEDecoder.Event] = []
        for byte in stream.utf8 { events += bytewise.feed([byte]) }
        #expect(events == expected)
    }

    @Test func echoBackendCountsWordsAndStopsAtTheBudget() async throws {
        let backend = EchoBackend()
        let request = ModelRequest(model: "m", messages: [["role": "user", "content": "one two three four"]], maxCompletionTokens: 2)
        let collected = Collected()
        let outcome = try await backend.generate(request) { collected.add($0) }
        #expect(outcome.finishReason == .length)
        #expect(outcome.usage.promptTokens == 4 && outcome.usage.completionTokens == 2)
        #expect(collected.all == [.text("one "), .text("two ")])
    }

    @Test func echoBackendCallsFunctions() async throws {
        let backend = EchoBackend()
        let tools: [JSONValueAlias] = [["type": "function", "function": ["name": "f"]], ["type": "function", "function": ["name": "g"]]]
        let request = ModelRequest(model: "m", messages: [["role": "user", "content": "/call g {\"x\": 1}\n/call f"]], tools: tools)
        let collected = Collected()
        let outcome = try await backend.generate(request) { collected.add($0) }
        #expect(outcome.finishReason == .toolCalls)
        let starts = collected.all.compactMap { delta -> String? in
            if case .toolCall(_, .some, let name?, _) = delta { return name }
            return nil
        }
        #expect(starts == ["g", "f"])
        let required = ModelRequest(model: "m", messages: [["role": "user", "content": "hi"]], tools: tools, toolChoice: "required")
        let first = Collected()
        _ = try await backend.generate(required) { first.add($0) }
        guard case .toolCall(0, _, "f", "")? = first.all.first else {
            Issue.record("expected a call of f, got \(first.all)")
            return
        }
    }
}
