import Dispatch

/// A serial queue that runs the I/O of many connections, with one receive buffer they share.
/// `@unchecked Sendable`: `scratch` is only touched by code running on `queue`, which is serial.
final class EventLoop: @unchecked Sendable {
    let queue: DispatchQueue
    let scratch: UnsafeMutableRawBufferPointer

    init(index: Int) {
        queue = DispatchQueue(label: "runnel.io.\(index)", qos: .userInitiated)
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { scratch.deallocate() }
}
