import CCurl
import FoundationEssentials
import Glibc
import RunsDomain
import Synchronization

/// One POST to the model server, its response body delivered chunk by chunk as it arrives.
final class UpstreamTransfer: Sendable {
    /// `nonisolated(unsafe)`: set once, in init.
    nonisolated(unsafe) private(set) var handle: OpaquePointer!
    let url: String
    let timeout: Double
    private let state = Mutex<State>(State())

    private struct State {
        var continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation?
        /// Bytes handed to the stream that its reader has not taken yet.
        var backlog = 0
        var paused = false
        var cancelled = false
        var errorBody: [UInt8] = []
    }

    /// Past this many bytes not yet read, the transfer stops reading from the socket; it reads
    /// again once half of them are.
    static let maxBacklog = 1 << 20
    static let maxErrorBody = 65536

    init(url: String, headers: [String], body: [UInt8], timeout: Double) throws {
        self.url = url
        self.timeout = timeout
        let receive: runnel_curl_write = { bytes, count, context in
            Unmanaged<UpstreamTransfer>.fromOpaque(context!).takeUnretainedValue().receive(bytes, count)
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        let lines = headers.map { strdup($0) }
        defer { lines.forEach { free($0) } }
        handle = lines.map { $0.map { UnsafePointer<CChar>($0) } }.withUnsafeBufferPointer { lines in
            body.withUnsafeBufferPointer { body in
                runnel_curl_transfer_new(url, lines.baseAddress, Int32(lines.count), body.baseAddress, body.count,
                                         Int(timeout * 1000), receive, context)
            }
        }
        guard handle != nil else {
            throw BackendError(.serverError, "Runnel could not prepare a request to the model server at \(url).")
        }
    }

    deinit {
        runnel_curl_transfer_free(handle)
    }

    /// Starts the exchange; the stream ends when the response does, throwing for a status other
    /// than 200 (with the server's own message), a timeout or a failed connection.
    func start(on loop: UpstreamLoop) -> AsyncThrowingStream<[UInt8], any Error> {
        AsyncThrowingStream { continuation in
            state.withLock { $0.continuation = continuation }
            continuation.onTermination = { [weak self, weak loop] _ in
                guard let self, let loop, state.withLock({ $0.continuation != nil }) else { return }
                cancel(on: loop)
            }
            loop.submit(.add(self))
        }
    }

    /// The reader took `count` bytes off the stream.
    func consumed(_ count: Int, on loop: UpstreamLoop) {
        let resume = state.withLock { state -> Bool in
            state.backlog -= count
            guard state.paused, state.backlog <= Self.maxBacklog / 2 else { return false }
            state.paused = false
            return true
        }
        if resume { loop.submit(.resume(self)) }
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    func cancel(on loop: UpstreamLoop) {
        state.withLock { $0.cancelled = true }
        loop.submit(.cancel(self))
    }

    /// On the loop's thread: body bytes from libcurl.
    private func receive(_ bytes: UnsafePointer<CChar>?, _ count: Int) -> Int {
        let status = runnel_curl_transfer_status(handle)
        let (accepted, continuation) = state.withLock { state -> (Int, AsyncThrowingStream<[UInt8], any Error>.Continuation?) in
            if state.cancelled { return (0, nil) }
            guard status == 200 else {
                let room = max(0, Self.maxErrorBody - state.errorBody.count)
                if room > 0, let bytes { state.errorBody += UnsafeRawBufferPointer(start: bytes, count: min(room, count)) }
                return (count, nil)
            }
            if state.backlog > Self.maxBacklog {
                state.paused = true
                return (RUNNEL_CURL_PAUSE, nil)
            }
            state.backlog += count
            return (count, state.continuation)
        }
        if let continuation, let bytes, count > 0 {
            continuation.yield(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        }
        return accepted
    }

    /// On the loop's thread: the exchange is over, with libcurl's result `code` (nil: cancelled).
    func ended(code: Int32?) {
        let (continuation, cancelled, body) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.cancelled, state.errorBody)
        }
        guard let continuation else { return }
        let status = runnel_curl_transfer_status(handle)
        if cancelled || code == nil {
            continuation.finish(throwing: CancellationError())
        } else if code == RUNNEL_CURL_TIMED_OUT {
            continuation.finish(throwing: BackendError(.serverError, "The model server at \(url) did not answer within \(Int(timeout)) s."))
        } else if let code, code != 0 {
            let reason = String(cString: runnel_curl_transfer_error(handle, code))
            continuation.finish(throwing: BackendError(.serverError, "Could not reach the model server at \(url): \(reason)"))
        } else if status != 200 {
            continuation.finish(throwing: Self.statusError(status, body: body, url: url))
        } else {
            continuation.finish()
        }
    }

    static func statusError(_ status: Int, body: [UInt8], url: String) -> BackendError {
        let detail = (try? JSONValue.parse(body))?["error"]?["message"]?.stringValue
            ?? String(decoding: body.prefix(300), as: UTF8.self)
        // Bounded: an error body of up to 64 KiB must not become a 64 KiB `last_error`.
        let message = "The model server at \(url) answered HTTP \(status): \(detail.prefix(500))"
        return BackendError(status == 429 ? .rateLimitExceeded : .serverError, message)
    }
}
