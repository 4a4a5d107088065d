import Glibc

/// A thread of its own for work that blocks for the life of the process (a poll loop, a signal
/// pipe). Foundation's `Thread` would link all of swift-corelibs-foundation into the binary.
public enum DetachedThread {
    private final class Body {
        let name: String
        let run: @Sendable () -> Void

        init(_ name: String, _ run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }

    /// Starts `body` on a new thread named `name` (at most 15 bytes show).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(name, body)).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            // pthread_setname_np is not in Swift's Glibc module; the kernel takes the name here.
            try? OpenFile(descriptor: open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)).write(Array(body.name.utf8.prefix(15)))
            body.run()
            return nil
        }, context)
        guard started == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            fatalError("cannot start the \(name) thread: \(SystemError("pthread_create", code: started))")
        }
        pthread_detach(thread)
    }
}
