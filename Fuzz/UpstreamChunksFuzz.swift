import RunsDomain

/// libFuzzer harness for everything a model server's bytes go through: the SSE decoder, the JSON
/// parser and the chat-completion chunk reader. Any bytes end in deltas or a fault; the deltas
/// must respect the bounds the engine relies on, and nothing may trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpstreamChunks(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var decoder = UpstreamSSEDecoder(maxLineBytes: 4096, maxEventBytes: 8192)
    var chunks = ChatCompletionChunks()
    guard let events = try? decoder.feed(UnsafeBufferPointer(start: data, count: count)) else { return 0 }
    for event in events {
        guard let chunk = try? JSONValue.parse(event.data), let deltas = try? chunks.read(chunk) else { continue }
        for case .toolCall(let index, _, _, _) in deltas where !(0..<ChatCompletionChunks.maxToolCalls).contains(index) {
            fatalError("tool call index \(index) escaped its bounds")
        }
    }
    if let usage = chunks.usage, usage.promptTokens < 0 || usage.completionTokens < 0 || usage.totalTokens < 0 {
        fatalError("negative usage \(usage)")
    }
    return 0
}
