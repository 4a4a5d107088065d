import Glibc

/// A file open for reading or writing through plain system calls. Foundation's `FileHandle`
/// would link all of swift-corelibs-foundation (CoreFoundation and ICU, 45 MB) into the binary,
/// and their start-up code into every process.
public final class OpenFile: Sendable {
    public let descriptor: Int32

    /// Takes `descriptor` over; it is closed with this object.
    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    public static func reading(_ path: String) throws -> OpenFile {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError("open \(path)") }
        return OpenFile(descriptor: descriptor)
    }

    /// Creates the file, or empties it, readable by this user only.
    public static func writing(_ path: String) throws -> OpenFile {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SystemError("create \(path)") }
        return OpenFile(descriptor: descriptor)
    }

    /// Up to `count` bytes; empty at the end of the file.
    public func read(upTo count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while true {
                let got = Glibc.read(descriptor, buffer.baseAddress, count)
                if got >= 0 {
                    initialized = got
                    return
                }
                if errno != EINTR { throw SystemError("read") }
            }
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let wrote = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if wrote < 0 {
                if errno == EINTR { continue }
                throw SystemError("write")
            }
            offset += wrote
        }
    }
}

/// Standard error, written whole and unbuffered: for messages on the way to an exit.
public enum StandardError {
    public static func write(_ text: String) {
        try? OpenFile.standardError.write(Array(text.utf8))
    }
}

extension OpenFile {
    /// Descriptor 2 itself (a copy could fail when descriptors run out, as errors are reported);
    /// a static is never released, so it is never closed.
    fileprivate static let standardError = OpenFile(descriptor: 2)
}
