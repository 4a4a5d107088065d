import FoundationEssentials
import RunsDomain

/// Any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp, OpenAI itself):
/// `POST {base}/chat/completions` with `stream: true`, decoded as the bytes arrive.
public struct OpenAICompatibleBackend: ModelBackend {
    public let baseURL: String
    /// The upstream's own key; the key a client sent to Runnel is never forwarded.
    let apiKey: String?
    let timeout: Double

    public init(baseURL: String, apiKey: String?, timeout: Double = 600) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.timeout = timeout
    }

    public func generate(_ request: ModelRequest, emit: @escaping DeltaSink) async throws -> ModelOutcome {
        var decoder = UpstreamSSEDecoder()
        var chunks = ChatCompletionChunks()
        try await post("/chat/completions", Self.body(for: request), accept: "text/event-stream") { bytes in
            let events: [UpstreamSSEDecoder.Event]
            do {
                events = try decoder.feed(bytes)
            } catch {
                throw BackendError(.serverError, "\(error)")
            }
            for event in events {
                if event.data.hasPrefix("[DONE]") { continue }
                guard let chunk = try? JSONValue.parse(event.data) else {
                    throw BackendError(.serverError, "The model server sent a stream event that is not JSON: \(event.data.prefix(200))")
                }
                if let error = chunk["error"], !error.isNull {
                    throw BackendError(.serverError, "The model server reported an error mid-stream: \(String((error["message"]?.stringValue ?? error.jsonText).prefix(500)))")
                }
                for delta in try chunks.read(chunk) { try await emit(delta) }
            }
        }
        try Task.checkCancellation()
        let reason = chunks.finishReason ?? (chunks.sawToolCalls ? .toolCalls : .stop)
        return ModelOutcome(finishReason: reason, usage: chunks.usage ?? Usage())
    }

    static func body(for request: ModelRequest) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("model", .string(request.model)),
            ("messages", .array(request.messages)),
            ("stream", true),
            ("stream_options", ["include_usage": true]),
        ]
        if !request.tools.isEmpty {
            fields.append(("tools", .array(request.tools)))
            if let choice = request.toolChoice { fields.append(("tool_choice", choice)) }
            fields.append(("parallel_tool_calls", .bool(request.parallelToolCalls)))
        }
        if let temperature = request.temperature { fields.append(("temperature", .number(temperature))) }
        if let topP = request.topP { fields.append(("top_p", .number(topP))) }
        if let format = request.responseFormat { fields.append(("response_format", format)) }
        if let limit = request.maxCompletionTokens { fields.append(("max_tokens", .integer(limit))) }
        return .object(fields)
    }
}

extension OpenAICompatibleBackend {
    /// Loads the HTTP client (libcurl) now: a node that could not reach its model server says so
    /// when it starts, not at its first run.
    public static func prepareClient() throws(BackendError) {
        _ = try UpstreamLoop.shared.get()
    }

    /// POSTs `body` to `path` under the base URL; `receive` gets the answer's body piece by piece,
    /// and the next piece is read only once it returns.
    func post(_ path: String, _ body: JSONValue, accept: String? = nil, receive: ([UInt8]) async throws -> Void) async throws {
        let loop = try UpstreamLoop.shared.get()
        let url = baseURL + path
        guard URL(string: url) != nil else {
            throw BackendError(.serverError, "The model backend URL '\(baseURL)' is not a valid URL.")
        }
        var headers = ["Content-Type: application/json"]
        if let accept { headers.append("Accept: \(accept)") }
        if let apiKey, !apiKey.isEmpty {
            guard !apiKey.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw BackendError(.serverError, "The model server's API key contains a control character.")
            }
            headers.append("Authorization: Bearer \(apiKey)")
        }
        let transfer = try UpstreamTransfer(url: url, headers: headers, body: body.serialized(), timeout: timeout)
        try await withTaskCancellationHandler {
            for try await bytes in transfer.start(on: loop) {
                defer { transfer.consumed(bytes.count, on: loop) }
                try await receive(bytes)
            }
        } onCancel: {
            transfer.cancel(on: loop)
        }
    }
}
