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

    public init(
        maxBodyBytes: Int = 32 * 1024 * 1024,
        maxHeaderBytes: Int = 16 * 1024,
        maxConnections: Int = 10_000,
        headerReadTimeout: Double = 10,
        keepAliveTimeout: Double = 75,
        maxBufferedResponseBytes: Int = 4 * 1024 * 1024,
        shutdownGracePeriod: Double = 10
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxConnections = maxConnections
        self.headerReadTimeout = headerReadTimeout
        self.keepAliveTimeout = keepAliveTimeout
        self.maxBufferedResponseBytes = maxBufferedResponseBytes
        self.shutdownGracePeriod = shutdownGracePeriod
    }
}
