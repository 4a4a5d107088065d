import HTTPServer
import Logging
import Observability
import RunsDomain
import RunsEngine
import RunsStorage
import Synchronization

/// `GET /metrics`: the Prometheus exposition, with the levels (connections, streams, runs)
/// counted at the moment it is asked for.
public final class MetricsEndpoint: Sendable {
    /// The registry's exposition as it stands.
    private let render: @Sendable () -> String
    /// The bearer key that may read metrics on the API port when API keys are configured.
    private let key: [UInt8]?
    private let connectionCounters = Mutex<[@Sendable () -> Int]>([])

    public init(key: String?, render: @escaping @Sendable () -> String) {
        self.key = key.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        self.render = render
    }

    /// Adds a server whose open connections count towards `runnel_http_connections_open`.
    public func countConnections(_ counter: @escaping @Sendable () -> Int) {
        connectionCounters.withLock { $0.append(counter) }
    }

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    func answer(engine: RunEngine, database: any Store) -> HTTPResponse {
        let connections = connectionCounters.withLock { $0 }.reduce(0) { $0 + $1() }
        let executing = engine.executingCount
        Telemetry.record(Telemetry.Levels(connections: connections, streams: engine.keepAlive.streamCount, executing: executing,
                                          queued: engine.queuedEstimate,
                                          leases: database.dialect == .postgresql ? executing : nil))
        var headers = HTTPHeaders()
        headers.add("content-type", Self.contentType)
        return HTTPResponse(status: 200, headers: headers, body: Array(MetricCatalogue.withHelp(render()).utf8))
    }

    /// On the API port with API keys configured, metrics are for the metrics key alone: a
    /// project's key reads its own project's objects, not the whole server's traffic.
    func refusal(authorization: String?, keys: APIKeys) -> HTTPResponse? {
        guard keys.isEnabled else { return nil }
        guard let key else {
            return ErrorResponses.envelope(
                status: 403, type: "permission_error",
                message: "Metrics are not served to API keys: give Runnel a --metrics-key for this port, or read them on --metrics-port.",
                param: nil, code: nil)
        }
        guard let authorization, authorization.lowercased().hasPrefix("bearer "),
              APIKeys.constantTimeEquals(key, Array(authorization.dropFirst(7).utf8)) else {
            return ErrorResponses.envelope(status: 401, type: "invalid_request_error",
                                           message: "Metrics need the metrics key (Authorization: Bearer METRICS_KEY).",
                                           param: nil, code: "invalid_api_key")
        }
        return nil
    }
}

/// The access log and the request metrics, fed by the HTTP server as each exchange ends.
enum RequestObserver {
    static func make(log: Logger) -> HTTPExchangeObserver {
        { record in
            let route = record.route ?? "unmatched"
            Telemetry.request(route: route, method: record.method ?? "none", status: record.status, nanoseconds: record.nanoseconds)
            log.info("request", metadata: [
                "request_id": "\(record.requestID)", "method": "\(record.method ?? "-")", "route": "\(route)",
                "status": .stringConvertible(record.status), "bytes": .stringConvertible(record.bodyBytes),
                "duration_ms": .stringConvertible(Double(record.nanoseconds / 1000) / 1000),
            ])
        }
    }
}
