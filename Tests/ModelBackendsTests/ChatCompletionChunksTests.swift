import Testing
import RunsDomain
@testable import ModelBackends

/// Numbers from a model server are checked, never trusted: a hostile one must fail the call
/// with a message naming the field, not trap the process or wrap around.
struct ChatCompletionChunksTests {
    static let hostile: [(String, String)] = [
        (#"{"choices": [], "usage": {"prompt_tokens": 1e20, "completion_tokens": 1}}"#, "usage.prompt_tokens"),
        (#"{"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 9223372036854775807}}"#, "usage.completion_tokens"),
        (#"{"choices": [], "usage": {"prompt_tokens": -3, "completion_tokens": 1}}"#, "usage.prompt_tokens"),
        (#"{"choices": [], "usage": {"prompt_tokens": 2.5, "completion_tokens": 1}}"#, "usage.prompt_tokens"),
        (#"{"choices": [], "usage": {"prompt_tokens": "12", "completion_tokens": 1}}"#, "usage.prompt_tokens"),
        (#"{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1e20, "id": "c", "function": {"name": "f"}}]}}]}"#, "tool call index"),
        (#"{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": -1, "function": {"arguments": "x"}}]}}]}"#, "tool call index"),
        (#"{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 128, "function": {"arguments": "x"}}]}}]}"#, "tool call index"),
    ]

    @Test(arguments: hostile)
    func anImplausibleNumberFailsTheCall(_ chunk: String, _ field: String) throws {
        var chunks = ChatCompletionChunks()
        let value = try JSONValue.parse(chunk)
        do {
            _ = try chunks.read(value)
            Issue.record("accepted \(chunk)")
        } catch {
            #expect(error.error.code == .serverError)
            #expect(error.error.message.contains(field), "\(error.error.message)")
        }
    }

    @Test func plausibleNumbersAreRead() throws {
        var chunks = ChatCompletionChunks()
        let deltas = try chunks.read(try JSONValue.parse(#"{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 3.0, "id": "c", "function": {"name": "f", "arguments": "{}"}}]}, "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 7, "completion_tokens": null}}"#))
        #expect(deltas == [.toolCall(index: 3, id: "c", name: "f", arguments: "{}")])
        #expect(chunks.usage == Usage(promptTokens: 7, completionTokens: 0) && chunks.finishReason == .toolCalls)
    }

    @Test func usageSumsSaturate() {
        let huge = Usage(promptTokens: .max - 1, completionTokens: .max)
        let sum = huge + Usage(promptTokens: 5, completionTokens: 5)
        #expect(sum.promptTokens == .max && sum.completionTokens == .max && sum.totalTokens == .max)
    }
}
