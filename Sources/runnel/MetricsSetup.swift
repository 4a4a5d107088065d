import CoreMetrics
import HTTPServer
import Logging
import Observability
import Prometheus
import RunsAPI

/// Prometheus behind swift-metrics, and the optional port that serves it alone.
enum MetricsSetup {
    /// Nil with `--metrics off`: nothing is recorded, and `/metrics` is not a route.
    static func bootstrap(_ configuration: Configuration) -> MetricsEndpoint? {
        guard configuration.string("metrics") == "on" else { return nil }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = MetricCatalogue.durationBuckets
        MetricsSystem.bootstrap(factory)
        let key = configuration.string("metrics_key")
        return MetricsEndpoint(key: key.isEmpty ? nil : key) {
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// The server of `--metrics-port`, on the API's host; nil when there is none.
    static func listen(_ configuration: Configuration, application: RunnelApplication, limits: ServerLimits, log: Logger) -> HTTPServer? {
        let port = configuration.int("metrics_port")
        guard port > 0, configuration.string("metrics") == "on" else { return nil }
        var small = limits
        small.maxConnections = 64
        small.maxBodyBytes = 4096
        do {
            let server = try HTTPServer(host: configuration.string("host"), port: port, limits: small, loopCount: 1,
                                        onError: { log.warning("metrics port: \($0)") },
                                        errorResponse: RunnelApplication.httpErrorResponse, handler: application.handleMetricsPort)
            log.info("metrics on http://\(configuration.string("host")):\(server.port)/metrics")
            return server
        } catch {
            ServeCommand.fail("cannot listen for metrics on \(configuration.string("host")):\(port): \(error)")
        }
    }
}
