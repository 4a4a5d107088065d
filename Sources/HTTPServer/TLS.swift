import CTLS
import Synchronization

public struct TLSError: Error, CustomStringConvertible {
    public var description: String
}

/// A certificate chain and key loaded into OpenSSL.
final class TLSContext: Sendable {
    /// `nonisolated(unsafe)`: OpenSSL's contexts are safe to share between threads once built.
    nonisolated(unsafe) let pointer: OpaquePointer

    init(certificatePath: String, keyPath: String) throws(TLSError) {
        var error = [CChar](repeating: 0, count: 512)
        guard let pointer = runnel_tls_context_new(certificatePath, keyPath, &error, error.count) else {
            throw TLSError(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.pointer = pointer
    }

    deinit { runnel_tls_context_free(pointer) }
}

/// HTTPS settings: the files, and the context new connections get. `reload` swaps in a context
/// read from the files again (a renewed certificate); connections already open keep theirs.
public final class TLSConfiguration: Sendable {
    public let certificatePath: String
    public let keyPath: String
    private let current: Mutex<TLSContext>

    public init(certificatePath: String, keyPath: String) throws(TLSError) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        current = Mutex(try TLSContext(certificatePath: certificatePath, keyPath: keyPath))
    }

    /// Rereads the files; on failure the context in use stays.
    public func reload() throws(TLSError) {
        let fresh = try TLSContext(certificatePath: certificatePath, keyPath: keyPath)
        current.withLock { $0 = fresh }
    }

    func session(fd: Int32) -> TLSSession? {
        current.withLock { context in runnel_tls_new(context.pointer, fd).map(TLSSession.init) }
    }
}

/// One connection's TLS session, used only on its connection's queue.
final class TLSSession {
    enum Read {
        case bytes(Int)
        /// Nothing to read until the socket is readable again.
        case wait
        /// The handshake must write first and the socket is full: try again shortly.
        case retry
        case end
        case failed
    }

    enum Write {
        case sent(Int)
        case blocked
        case failed
    }

    private let pointer: OpaquePointer
    /// After a fatal error OpenSSL forbids a close_notify.
    private var broken = false

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { runnel_tls_free(pointer) }

    var established: Bool { runnel_tls_established(pointer) == 1 }

    /// Decrypted bytes the session holds, which epoll will not report.
    var hasPending: Bool { runnel_tls_pending(pointer) > 0 }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Read {
        let result = runnel_tls_read(pointer, buffer.baseAddress, Int32(clamping: buffer.count))
        switch result {
        case 1...: return .bytes(Int(result))
        case RUNNEL_TLS_WANT_READ: return .wait
        case RUNNEL_TLS_WANT_WRITE: return .retry
        case RUNNEL_TLS_CLOSED: return .end
        default:
            broken = true
            return .failed
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Write {
        let result = runnel_tls_write(pointer, bytes.baseAddress, Int32(clamping: bytes.count))
        switch result {
        case 1...: return .sent(Int(result))
        case RUNNEL_TLS_WANT_WRITE: return .blocked
        default:
            broken = true
            return .failed
        }
    }

    func closeNotify() {
        if !broken { runnel_tls_close_notify(pointer) }
    }
}
