import Dispatch
import FoundationEssentials
import Glibc
import HTTPServer
import Logging
import ModelBackends
import Observability
import RunsAPI
import RunsDomain
import RunsEngine
import RunsStorage

enum ServeCommand {
    static func run(arguments: [String]) -> Never {
        MemoryTrimmer.limitArenas()
        let configuration: Configuration
        do {
            configuration = try Configuration.resolve(arguments: arguments, environment: ProcessInfo.processInfo.environment)
        } catch {
            fail("\(error)")
        }
        if configuration.showHelp {
            print(Configuration.helpText, terminator: "")
            exit(0)
        }
        LineLogHandler.bootstrap(format: LogFormat(rawValue: configuration.string("log_format")) ?? .text,
                                 level: Logger.Level(rawValue: configuration.string("log_level")) ?? .info)
        let log = Logger(label: "runnel")
        // Before anything records a metric: a metric made earlier would report to no one.
        let metrics = MetricsSetup.bootstrap(configuration)
        // A vanished client must never kill the process; sends also pass MSG_NOSIGNAL.
        signal(SIGPIPE, SIG_IGN)
        if let notice = CPUScheduling.apply(configuration.string("cpu_scheduling")) { log.warning("\(notice)") }

        let node = RunEngine.makeNodeName()
        let database: any Store
        let databaseName: String
        do {
            (database, databaseName) = try openStore(configuration, node: node)
        } catch {
            fail("cannot open database \(Configuration.redactedDatabase(configuration.string("database"))): \(error)")
        }
        let backend: any ModelBackend
        if configuration.string("backend") == "openai" {
            do {
                try OpenAICompatibleBackend.prepareClient()
            } catch {
                fail(error.error.message)
            }
            backend = OpenAICompatibleBackend(baseURL: configuration.string("backend_url"),
                                              apiKey: configuration.string("backend_api_key"),
                                              timeout: configuration.seconds("backend_timeout"))
        } else {
            backend = EchoBackend(delayPerTokenMilliseconds: configuration.int("echo_delay_ms"))
        }
        let engineSettings = RunEngineSettings(
            expirySeconds: configuration.int("run_expiry"), maxConcurrentRuns: configuration.int("max_concurrent_runs"),
            pollHoldSeconds: configuration.seconds("poll_hold"), streamKeepAliveSeconds: configuration.seconds("stream_keep_alive"),
            maxQueuedRuns: configuration.int("max_queued_runs"), runRetries: configuration.int("run_retries"),
            leaseSeconds: configuration.seconds("lease"))
        let bus: (any ClusterBus)? = (database as? PostgresStore).map { store in
            NotifyBus(channel: PostgresNotifications(store: store, log: { log.warning("cluster: \($0)") }), node: node)
        }
        let embeddingModel = configuration.string("embedding_model")
        if !embeddingModel.isEmpty, configuration.string("backend") != "openai" {
            fail("--embedding-model needs --backend openai: embeddings come from the backend server's /embeddings")
        }
        let retrieval = RetrievalSettings(maxFileBytes: configuration.int("max_file_bytes"),
                                          ingestionWorkers: configuration.int("ingestion_workers"),
                                          embeddingModel: embeddingModel.isEmpty ? nil : embeddingModel)
        let code = CodeInterpreterStartup.setUp(configuration, log: log)
        let application = RunnelApplication(database: database, keys: APIKeys(configuration.apiKeys), backend: backend,
                                            engineSettings: engineSettings, log: log, node: node, bus: bus, retrieval: retrieval,
                                            code: code, metrics: metrics)
        do {
            try application.engine.start()
            try application.ingestion.start()
        } catch {
            fail("cannot recover unfinished runs: \(error)")
        }
        let limits = ServerLimits(
            maxBodyBytes: configuration.int("max_body_bytes"),
            maxHeaderBytes: configuration.int("max_header_bytes"),
            maxConnections: configuration.int("max_connections"),
            headerReadTimeout: configuration.seconds("header_read_timeout"),
            keepAliveTimeout: configuration.seconds("keep_alive_timeout"),
            shutdownGracePeriod: configuration.seconds("shutdown_grace"),
            maxInflightBodyBytes: configuration.int("max_inflight_body_bytes"),
            reservedDescriptors: reservedDescriptors(configuration))
        let tls = TLSSetup.load(configuration)
        let server: HTTPServer
        do {
            server = try HTTPServer(
                host: configuration.string("host"), port: configuration.int("port"), limits: limits,
                onError: { log.warning("\($0)") }, streamsBody: application.streamsBody, turnStarted: application.turnStarted,
                observer: application.requestObserver, tls: tls, errorResponse: RunnelApplication.httpErrorResponse, handler: application.handle)
        } catch {
            fail("cannot listen on \(configuration.string("host")):\(configuration.string("port")): \(error)")
        }
        if let notice = server.connectionLimitNotice { log.warning("\(notice)") }
        metrics?.countConnections { server.connectionCount }
        let metricsServer = MetricsSetup.listen(configuration, application: application, limits: limits, log: log)
        StopSignals.install { number in
            log.info("received signal \(number); finishing in-flight requests (up to \(limits.shutdownGracePeriod) s)")
            let deadline = Date().addingTimeInterval(limits.shutdownGracePeriod)
            metricsServer?.shutdown(gracePeriod: 0)
            server.shutdown(gracePeriod: limits.shutdownGracePeriod)
            application.ingestion.stop()
            application.engine.stop(timeout: max(0, deadline.timeIntervalSinceNow))
            code.shutdown()
            database.close()
            log.info("stopped")
            exit(0)
        }
        let shownHost = server.host.contains(":") ? "[\(server.host)]" : server.host
        let hangUp = tls.map { TLSSetup.reloadOnHangUp($0, log: log) }
        log.info("runnel listening on \(tls == nil ? "http" : "https")://\(shownHost):\(server.port) database=\(databaseName) node=\(node) keys=\(configuration.apiKeys.count) backend=\(configuration.string("backend"))")
        code.start()
        let trimmer = MemoryTrimmer(log: log)
        withExtendedLifetime((trimmer, hangUp)) { dispatchMain() }
    }

    /// SQLite for a path, PostgreSQL for a postgres:// URL; the name to log (no password).
    static func openStore(_ configuration: Configuration, node: String) throws -> (any Store, String) {
        let setting = configuration.string("database")
        if PostgresURL.isPostgres(setting) {
            let url = try PostgresURL(setting)
            let options = PostgresOptions(poolSize: configuration.int("database_pool"),
                                          statementTimeoutMilliseconds: Int(configuration.seconds("statement_timeout") * 1000),
                                          applicationName: "runnel \(node)")
            return (try PostgresStore(url: url, options: options, now: SystemClock().nowSeconds()), url.description)
        }
        let path = URL(fileURLWithPath: setting).standardizedFileURL.path
        // Held for the life of the process (never closed: see DatabaseLock), so restore refuses a
        // live file; taken before the store opens a file that exists, so a restore under way wins.
        let existed = FileManager.default.fileExists(atPath: path)
        if existed {
            servingLock = DatabaseLock.serving(path)
            guard servingLock != nil else {
                throw ConfigurationError(description: "runnel restore is replacing \(path); start the server once it is done")
            }
        }
        let store = try SQLiteStore(
            path: path,
            options: DatabaseOptions(readerCount: configuration.int("database_readers"),
                                     synchronous: configuration.string("sqlite_synchronous"),
                                     // One per I/O loop: the server runs a loop per allowed core.
                                     laneCount: System.coreCount))
        if !existed { servingLock = DatabaseLock.serving(path) }
        return (store, path)
    }

    nonisolated(unsafe) private static var servingLock: DatabaseLock?

    /// Descriptors the server needs besides its connections: the runtime's own (standard streams,
    /// epoll, Dispatch, signal pipe, /proc reads), three per SQLite connection (database, WAL,
    /// shared memory) and, with an upstream model server, one socket per executing run plus
    /// the HTTP client's own.
    static func reservedDescriptors(_ configuration: Configuration) -> Int {
        let database = PostgresURL.isPostgres(configuration.string("database"))
            ? configuration.int("database_pool") + 2
            : 3 * (configuration.int("database_readers") + 1 + System.coreCount)
        let upstream = configuration.string("backend") == "openai" ? 2 * configuration.int("max_concurrent_runs") : 0
        return 64 + database + upstream
    }

    static func fail(_ message: String) -> Never {
        StandardError.write("runnel: error: \(message)\n")
        exit(2)
    }
}
