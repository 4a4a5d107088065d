import Dispatch
import HTTPServer
import Logging
import ModelBackends
import Retrieval
import RunsDomain
import RunsEngine
import RunsStorage
import RunsWire

/// The composition root: routes every request to its endpoint, authenticates it, runs it on
/// the right database queue and answers in OpenAI's shapes.
public final class RunnelApplication: Sendable {
    private let router: Router<Route>
    /// The routes that stream their body, with their limits: asked about every request head.
    private let uploads: Router<Int>
    private let database: any Store
    private let keys: APIKeys
    private let services: Services
    private let log: Logger
    private let metrics: MetricsEndpoint?
    public let engine: RunEngine
    /// Indexes vector store files in the background; started with the engine.
    public let ingestion: IngestionPool
    /// Bodies larger than this are parsed off the database queues first.
    static let largeBody = 256 * 1024

    public init(database: any Store, keys: APIKeys, backend: any ModelBackend = EchoBackend(),
                engineSettings: RunEngineSettings = RunEngineSettings(), clock: any Clock = SystemClock(), log: Logger,
                node: String? = nil, bus: (any ClusterBus)? = nil, retrieval: RetrievalSettings = RetrievalSettings(),
                code: CodeInterpreterSetup = CodeInterpreterSetup.off, metrics: MetricsEndpoint? = nil) {
        self.database = database
        self.metrics = metrics
        self.keys = keys
        self.log = log
        let ids = ObjectIDGenerator(clock: clock)
        services = Services(ids: ids, clock: clock)
        let embeddings = retrieval.embeddingModel.flatMap { model in
            (backend as? any EmbeddingBackend).map { Embeddings(backend: $0, model: model) }
        }
        engine = RunEngine(database: database, backend: backend, clock: clock, ids: ids, settings: engineSettings, log: log,
                           node: node, bus: bus, embeddings: embeddings, code: code)
        var router = Router<Route>(optionalPrefix: "v1")
        router.add("GET", "/health", .open { _ in JSONResponse.make(["status": "ok"]) })
        if let metrics {
            let engine = engine
            router.add("GET", "/metrics", .open { [keys] request in
                metrics.refusal(authorization: request.headers["authorization"], keys: keys)
                    ?? metrics.answer(engine: engine, database: database)
            })
        }
        AssistantsEndpoints.register(in: &router)
        InspectorEndpoint.register(in: &router)
        ThreadsEndpoints.register(in: &router)
        MessagesEndpoints.register(in: &router)
        RunsEndpoints.register(in: &router, engine: engine)
        RunWatchEndpoint.register(in: &router, engine: engine)
        FilesEndpoints.register(in: &router, database: database, log: log, maxFileBytes: retrieval.maxFileBytes)
        ingestion = IngestionPool(database: database, node: engine.node, clock: clock, workers: retrieval.ingestionWorkers,
                                  pdfTimeoutSeconds: retrieval.pdfTimeoutSeconds, embeddings: embeddings,
                                  log: { log.warning("\($0)") }, info: { log.info("\($0)") })
        let routes = RetrievalRoutes(database: database, log: log, pollHoldSeconds: engineSettings.pollHoldSeconds,
                                     embeddings: embeddings)
        VectorStoresEndpoints.register(in: &router, routes)
        VectorStoreFilesEndpoints.register(in: &router, routes)
        self.router = router
        uploads = router.compactMap { route in
            if case .upload(let maxBytes, _) = route { maxBytes } else { nil }
        }
    }

    /// Picks the requests whose body is streamed to their route (uploads), with its limit.
    @Sendable public func streamsBody(_ head: HTTPRequestHead) -> Int? {
        guard case .found(let maxBytes, _, _) = uploads.match(method: head.method, path: head.path) else { return nil }
        return maxBytes
    }

    /// Called by the HTTP server when a loop is about to serve newly ready sockets: a lane's read
    /// transaction from before must not answer requests that arrived after it began.
    @Sendable public func turnStarted(lane: Int) {
        database.laneReaders?.endTurn(lane: lane)
    }

    /// Feeds the access log and the request metrics; give it to the HTTP server.
    public var requestObserver: HTTPExchangeObserver { RequestObserver.make(log: log) }

    /// The separate metrics port: `/metrics` and `/health`, open, and nothing else.
    public func handleMetricsPort(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let path = request.path
        if request.method == "GET" || request.method == "HEAD", let metrics, path == "/metrics" {
            responder.route = "/metrics"
            return responder.send(metrics.answer(engine: engine, database: database))
        }
        if request.method == "GET" || request.method == "HEAD", path == "/health" {
            responder.route = "/health"
            return responder.send(JSONResponse.make(["status": "ok"]))
        }
        responder.send(ErrorResponses.envelope(status: 404, type: "invalid_request_error",
                                               message: "Invalid URL (\(request.method) \(path)): this port serves /metrics and /health.",
                                               param: nil, code: nil))
    }

    /// For errors the HTTP layer finds before a request reaches the application.
    public static func httpErrorResponse(status: Int, message: String) -> HTTPResponse {
        ErrorResponses.httpLevel(status: status, message: message)
    }

    public func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let path = request.path
        switch router.match(method: request.method, path: path) {
        case .notFound:
            responder.send(ErrorResponses.envelope(
                status: 404, type: "invalid_request_error", message: "Invalid URL (\(request.method) \(path))",
                param: nil, code: nil))
        case .methodNotAllowed(let allowed):
            var response = ErrorResponses.envelope(
                status: 405, type: "invalid_request_error",
                message: "Method \(request.method) is not allowed for \(path); use \(allowed.joined(separator: ", ")).",
                param: nil, code: nil)
            response.headers.add("allow", allowed.joined(separator: ", "))
            responder.send(response)
        case .found(let route, let parameters, let template):
            responder.route = template
            if case .open(let answer) = route {
                responder.send(answer(request))
                return
            }
            let project: String
            do {
                project = try keys.project(authorization: request.headers["authorization"])
            } catch {
                responder.send(ErrorResponses.response(for: error, requestID: responder.requestID, log: log))
                return
            }
            if let (noun, id) = Self.malformedID(in: parameters) {
                responder.send(ErrorResponses.response(for: APIError.notFound(noun, String(id.prefix(100))),
                                                       requestID: responder.requestID, log: log))
                return
            }
            let context = APIContext(request: request, parameters: parameters, project: project, services: services)
            guard request.body.count > Self.largeBody else {
                run(route, context, responder, onLane: true)
                return
            }
            DispatchQueue.global(qos: .userInitiated).async { [self] in
                var parsed = context
                parsed.parsedBody = Result { try APIContext.parse(request.body) }
                run(route, parsed, responder, onLane: false)
            }
        }
    }

    /// Answers a short read right here on the I/O loop; false when it must take the queued path
    /// (no lane for this loop, or the database busy for a moment).
    private func readOnLane(_ lanes: any LaneReaders, _ handler: @Sendable (APIContext, any SQLSession) throws -> JSONValue,
                            _ context: APIContext, _ responder: HTTPResponder) -> Bool {
        let lane = responder.lane
        do {
            guard let (body, began) = try lanes.read(lane: lane, { try handler(context, $0) }) else { return false }
            if began { responder.afterThisTurn { lanes.endTurn(lane: lane) } }
            responder.sendInline(JSONResponse.make(body))
        } catch {
            // The transaction may have begun before the error; it ends with the turn all the same.
            responder.afterThisTurn { lanes.endTurn(lane: lane) }
            responder.sendInline(ErrorResponses.response(for: error, requestID: responder.requestID, log: log))
        }
        return true
    }

    /// Path ids in the order they are looked up, with the noun a 404 names.
    private static let idParameters = [("assistant_id", "assistant"), ("thread_id", "thread"), ("message_id", "message"),
                                       ("run_id", "run"), ("step_id", "run step"), ("file_id", "file"),
                                       ("vector_store_id", "vector store"), ("batch_id", "vector store file batch")]

    /// The first path id that no object can have (a NUL, a space, a stray escape): it is answered
    /// 404 like any unknown id, before it reaches a query.
    static func malformedID(in parameters: [String: String]) -> (noun: String, id: String)? {
        if parameters.values.allSatisfy(Validate.isIdentifier) { return nil }
        for (name, noun) in idParameters {
            if let value = parameters[name], !Validate.isIdentifier(value) { return (noun, value) }
        }
        return nil
    }

    /// - Parameter onLane: called within the handler's own call, on the request's I/O loop.
    private func run(_ route: Route, _ context: APIContext, _ responder: HTTPResponder, onLane: Bool) {
        let reply = ErrorResponses.replier(responder, log: log)
        switch route {
        case .read(let handler):
            if onLane, let lanes = database.laneReaders, readOnLane(lanes, handler, context, responder) { return }
            database.read({ try handler(context, $0) }, completion: reply)
        case .bulkRead(let handler): database.read({ try handler(context, $0) }, completion: reply)
        case .write(let handler):
            // Any write may have queued files (tool resources, attachments): idle workers look now.
            let ingestion = ingestion
            database.write({ try handler(context, $0) }, completion: { result in
                ingestion.wake()
                reply(result)
            })
        case .custom(let handler): handler(context, responder)
        case .upload(_, let handler):
            guard let stream = context.request.bodyStream else {
                // A request without a body to stream (Content-Length: 0) has nothing to upload.
                return FileUpload.emptyBody(responder, log: log)
            }
            handler(context, stream, responder)
        case .open: break
        }
    }
}
