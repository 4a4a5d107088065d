import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
        guard let url = URL(string: baseURL + "/chat/completions") else {
            throw BackendError(.serverError, "The model backend URL '\(baseURL)' is not a valid URL.")
        }
        var urlRequest = URLRequest(url: url, timeoutInterval: timeout)
        urlRequest.httpMethod = "POST"
        urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
        urlRequest.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        if let apiKey, !apiKey.isEmpty { urlRequest.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        urlRequest.httpBody = Data(Self.body(for: request).serialized())

        let transfer = StreamingTransfer(request: urlRequest, timeout: timeout)
        var decoder = UpstreamSSEDecoder()
        var chunks = ChatCompletionChunks()
        try await withTaskCancellationHandler {
            for try await bytes in transfer.start() {
                defer { transfer.consumed(bytes.count) }
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
        } onCancel: {
            transfer.cancel()
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

/// One streaming HTTP exchange through URLSession, its body delivered chunk by chunk (a data
/// delegate is what streams on Linux; `bytes(for:)` does not exist there).
final class StreamingTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // `@unchecked Sendable`: the mutable state below is guarded by `lock`.
    private let request: URLRequest
    private let timeout: Double
    private let lock = NSLock()
    private var continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation?
    private var session: URLSession?
    private var task: URLSessionDataTask?
    private var status = 0
    private var errorBody: [UInt8] = []
    private var cancelled = false
    /// Bytes handed to the stream that its reader has not taken yet.
    private var backlog = 0
    /// URLSession on Linux cannot be slowed down, so a stream that outruns its reader by this
    /// much is a fault rather than a reason to buffer without bound.
    static let maxBacklog = 16 << 20

    init(request: URLRequest, timeout: Double) {
        self.request = request
        self.timeout = timeout
    }

    func start() -> AsyncThrowingStream<[UInt8], any Error> {
        AsyncThrowingStream { continuation in
            let configuration = URLSessionConfiguration.ephemeral
            configuration.timeoutIntervalForRequest = timeout
            configuration.timeoutIntervalForResource = timeout
            let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
            let task = session.dataTask(with: request)
            lock.withLock {
                self.continuation = continuation
                self.session = session
                self.task = task
            }
            continuation.onTermination = { [weak self] _ in self?.cancel() }
            if lock.withLock({ cancelled }) { task.cancel() } else { task.resume() }
        }
    }

    func cancel() {
        let task = lock.withLock { () -> URLSessionDataTask? in
            cancelled = true
            return self.task
        }
        task?.cancel()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        lock.withLock { status = (response as? HTTPURLResponse)?.statusCode ?? 0 }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let (code, continuation, overrun) = lock.withLock { () -> (Int, AsyncThrowingStream<[UInt8], any Error>.Continuation?, Bool) in
            if self.status == 200 { backlog += data.count }
            return (self.status, self.continuation, backlog > Self.maxBacklog)
        }
        if overrun {
            continuation?.finish(throwing: BackendError(.serverError,
                "The model server sent more than \(Self.maxBacklog) bytes faster than Runnel could process them."))
            dataTask.cancel()
        } else if code == 200 {
            continuation?.yield(Array(data))
        } else {
            lock.withLock { if errorBody.count < 65536 { errorBody.append(contentsOf: data.prefix(65536 - errorBody.count)) } }
        }
    }

    /// The reader took `count` bytes off the stream.
    func consumed(_ count: Int) {
        lock.withLock { backlog -= count }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let (status, body, cancelled, continuation) = lock.withLock { (self.status, errorBody, self.cancelled, self.continuation) }
        session.finishTasksAndInvalidate()
        if cancelled {
            continuation?.finish(throwing: CancellationError())
        } else if let error {
            let described = (error as? URLError)?.code == .timedOut
                ? "The model server at \(request.url?.host ?? "?") did not answer within \(Int(timeout)) s."
                : "Could not reach the model server at \(request.url?.absoluteString ?? "?"): \(error.localizedDescription)"
            continuation?.finish(throwing: BackendError(.serverError, described))
        } else if status != 200 {
            continuation?.finish(throwing: Self.statusError(status, body: body, url: request.url))
        } else {
            continuation?.finish()
        }
    }

    static func statusError(_ status: Int, body: [UInt8], url: URL?) -> BackendError {
        let detail = (try? JSONValue.parse(body))?["error"]?["message"]?.stringValue
            ?? String(decoding: body.prefix(300), as: UTF8.self)
        // Bounded: an error body of up to 64 KiB must not become a 64 KiB `last_error`.
        let message = "The model server at \(url?.absoluteString ?? "?") answered HTTP \(status): \(detail.prefix(500))"
        return BackendError(status == 429 ? .rateLimitExceeded : .serverError, message)
    }
}
