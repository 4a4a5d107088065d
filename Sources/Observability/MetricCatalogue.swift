/// Every metric Runnel exports, with the help text Prometheus shows for it. swift-metrics has no
/// place for help text, so the exposition gets its `# HELP` lines from here (`withHelp`), and the
/// README's Monitoring section lists the same names.
public enum MetricCatalogue {
    public static let httpRequests = "runnel_http_requests_total"
    public static let httpRequestDuration = "runnel_http_request_duration_seconds"
    public static let connectionsOpen = "runnel_http_connections_open"
    public static let streamsOpen = "runnel_sse_streams_open"
    public static let runsCreated = "runnel_runs_created_total"
    public static let runsFinished = "runnel_runs_finished_total"
    public static let runsExecuting = "runnel_runs_executing"
    public static let runsQueued = "runnel_runs_queued"
    public static let runDuration = "runnel_run_duration_seconds"
    public static let timeToFirstToken = "runnel_run_time_to_first_token_seconds"
    public static let modelCalls = "runnel_model_calls_total"
    public static let modelCallDuration = "runnel_model_call_duration_seconds"
    public static let modelTokens = "runnel_model_tokens_total"
    public static let databaseDuration = "runnel_database_operation_duration_seconds"
    public static let leasesHeld = "runnel_run_leases_held"

    public static let help: [String: String] = [
        httpRequests: "HTTP requests answered, by route template, method and status.",
        httpRequestDuration: "Time from a request's arrival to the end of its answer (a stream's last byte), by route template and method.",
        connectionsOpen: "Client connections open now.",
        streamsOpen: "Server-Sent Event streams open now.",
        runsCreated: "Runs created on this node.",
        runsFinished: "Runs that reached a final status on this node, by that status.",
        runsExecuting: "Runs executing on this node now.",
        runsQueued: "Runs waiting for an execution slot (queued) as this node last counted them.",
        runDuration: "Time from a run's creation to its final status.",
        timeToFirstToken: "Time from the start of a run's execution to the first text or tool-call delta of its model.",
        modelCalls: "Calls to the model backend, by outcome (ok, error, cancelled).",
        modelCallDuration: "Duration of calls to the model backend, by outcome.",
        modelTokens: "Tokens the model backend reported, by kind (prompt, completion).",
        databaseDuration: "Time from asking for a database transaction to its result, queueing included, by operation (read, write) and database.",
        leasesHeld: "PostgreSQL: runs this node holds a lease on now.",
    ]

    /// Histograms whose values span more than the library's default of 5 ms to 10 s.
    public static let durationBuckets: [String: [Duration]] = [
        httpRequestDuration: [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
                              .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                              .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60)],
        databaseDuration: [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
                           .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                           .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)],
        runDuration: [.milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                      .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600)],
        timeToFirstToken: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                           .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
                           .seconds(10), .seconds(30)],
        modelCallDuration: [.milliseconds(1), .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                            .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
                            .seconds(120), .seconds(300), .seconds(600)],
    ]

    /// The exposition with a `# HELP` line before each family's `# TYPE` line.
    public static func withHelp(_ exposition: String) -> String {
        var out = ""
        out.reserveCapacity(exposition.utf8.count + help.count * 80)
        for line in exposition.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst(7).split(separator: " ").first, let text = help[String(name)] {
                out += "# HELP \(name) \(text)\n"
            }
            out += line
            out += "\n"
        }
        while out.hasSuffix("\n\n") { out.removeLast() }
        return out
    }
}
