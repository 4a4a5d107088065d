/// Bounds that keep one client from exhausting memory, descriptors or time meant for the others.
public struct ServerLimits: Sendable {
    public var maxBodyBytes: Int
    public var maxHeaderBytes: Int
    public var maxConnections: Int
    /// How long a client may take to send a complete request head, from its first byte.
    public var headerReadTimeout: Double
    /// How long an idle keep-alive connection (or a stalled body upload) is kept open.
    public var keepAliveTimeout: Double
    /// How much unsent response data a connection may hold before the slow reader is dropped.
    public var maxBufferedResponseBytes: Int
    /// How long shutdown waits for in-flight requests before closing their connections.
    public var shutdownGracePeriod: Double
    /// Request bodies held in memory at once, over all connections; past it a new body is
    /// answered 503 with `Retry-After` before it is read.
    public var maxInflightBodyBytes: Int
    /// Descriptors kept out of the connection limit for the database, upstream calls, files and
    /// the runtime itself; the limit is lowered at start when the process may not open enough.
    public var reservedDescriptors: Int

    public init(
        maxBodyBytes: Int = 32 * 1024 * 1024,
        maxHeaderBytes: Int = 16 * 1024,
        maxConnections: Int = 10_000,
        headerReadTimeout: Double = 10,
        keepAliveTimeout: Double = 75,
        maxBufferedResponseBytes: Int = 4 * 1024 * 1024,
        shutdownGracePeriod: Double = 10,
        maxInflightBodyBytes: Int = 256 * 1024 * 1024,
        reservedDescriptors: Int = 128
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxConnections = maxConnections
        self.headerReadTimeout = headerReadTimeout
        self.keepAliveTimeout = keepAliveTimeout
        self.maxBufferedResponseBytes = maxBufferedResponseBytes
        self.shutdownGracePeriod = shutdownGracePeriod
        self.maxInflightBodyBytes = maxInflightBodyBytes
        self.reservedDescriptors = reservedDescriptors
    }
}
