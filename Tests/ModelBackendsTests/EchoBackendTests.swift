import Testing
@testable import ModelBackends

struct EchoBackendTests {
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
