/// One setting of `runnel serve`: a flag, an environment variable and a config-file key, with a
/// default. Precedence is flag > environment > config file > default.
struct SettingSpec: Sendable {
    enum Kind: Sendable {
        case text
        /// Like text, but may be empty and is never printed.
        case secret
        case integer(ClosedRange<Int>)
        case seconds
        case choice([String])
    }

    let key: String
    let flag: String
    let env: String
    let defaultValue: String
    let kind: Kind
    let help: String

    /// The placeholder for the value in `--help`.
    var metavar: String {
        switch kind {
        case .seconds: "SECONDS"
        case .integer: key.hasSuffix("_bytes") ? "BYTES" : (key == "port" ? "PORT" : "N")
        case .choice: key == "log_level" ? "LEVEL" : (key == "log_format" ? "FORMAT" : "MODE")
        case .text: key == "database" ? "PATH|URL" : (key.hasSuffix("_url") ? "URL" : (key.hasPrefix("tls_") ? "FILE" : key.uppercased()))
        case .secret: "KEY"
        }
    }

    init(_ key: String, default defaultValue: String, _ kind: Kind = .text, help: String) {
        self.key = key
        flag = "--" + key.replacingAll("_", with: "-")
        env = "RUNNEL_" + key.uppercased()
        self.defaultValue = defaultValue
        self.kind = kind
        self.help = help
    }

    /// Every setting, in the order `--help` lists them.
    static let all: [SettingSpec] = [
        SettingSpec("host", default: "127.0.0.1", help: "Address to listen on (0.0.0.0 for every interface)."),
        SettingSpec("port", default: "8080", .integer(0...65535), help: "Port to listen on; 0 picks a free one."),
        SettingSpec("database", default: "./runnel.sqlite",
                    help: "SQLite file (created with its directory if missing), or a postgres:// URL shared by several nodes."),
        SettingSpec("log_level", default: "info", .choice(["debug", "info", "warning", "error"]),
                    help: "Least severe log level written to stderr; info has a line per request and per run transition."),
        SettingSpec("log_format", default: "text", .choice(["text", "json"]), help: "Log lines as text or as one JSON object each."),
        SettingSpec("metrics", default: "on", .choice(["on", "off"]), help: "Serve Prometheus metrics at GET /metrics."),
        SettingSpec("metrics_port", default: "0", .integer(0...65535),
                    help: "Also serve /metrics (and /health) on this port of --host, without a key; 0: none. With API keys, /metrics on the main port answers only --metrics-key."),
        SettingSpec("metrics_key", default: "", .secret,
                    help: "Bearer key that may read /metrics on the main port when API keys are configured (a project's key never may)."),
        SettingSpec("tls_cert", default: "", .text, help: "PEM certificate chain: serve HTTPS (TLS 1.2+) instead of HTTP; reread on SIGHUP."),
        SettingSpec("tls_key", default: "", .text, help: "PEM private key of --tls-cert; reread on SIGHUP."),
        SettingSpec("max_body_bytes", default: "33554432", .integer(1...Int(Int32.max)), help: "Largest request body accepted (413 beyond)."),
        SettingSpec("max_header_bytes", default: "16384", .integer(1024...1_048_576), help: "Largest request head accepted (431 beyond)."),
        SettingSpec("max_connections", default: "10000", .integer(1...1_000_000),
                    help: "Open connections served at once (lowered at start to fit the open-file limit); at the limit the longest-idle keep-alive connection is closed to admit a new one, and only when all are busy is it refused with 503."),
        SettingSpec("max_inflight_body_bytes", default: "268435456", .integer(1...Int(Int32.max)),
                    help: "Request bodies held in memory at once over all connections; past it a new body gets 503 with Retry-After."),
        SettingSpec("header_read_timeout", default: "10", .seconds, help: "Seconds a client has to send a request head."),
        SettingSpec("keep_alive_timeout", default: "75", .seconds, help: "Seconds an idle keep-alive connection is kept."),
        SettingSpec("shutdown_grace", default: "10", .seconds, help: "Seconds SIGTERM/SIGINT waits for in-flight requests."),
        SettingSpec("database_readers", default: "3", .integer(1...64), help: "Read-only SQLite connections serving GETs."),
        SettingSpec("database_pool", default: "8", .integer(1...256), help: "PostgreSQL: connections in the pool."),
        SettingSpec("statement_timeout", default: "15", .seconds, help: "PostgreSQL: seconds one statement may take before it is stopped."),
        SettingSpec("lease", default: "10", .seconds,
                    help: "PostgreSQL: seconds a node's claim on a run lasts without a heartbeat; a dead node's runs move on after it."),
        SettingSpec("run_retries", default: "2", .integer(0...100),
                    help: "Times a run cut off mid-turn (a crash, a lost lease) re-executes that turn before it fails."),
        SettingSpec("backend", default: "echo", .choice(["echo", "openai"]),
                    help: "Model backend: the built-in deterministic echo, or an OpenAI-compatible server."),
        SettingSpec("backend_url", default: "http://127.0.0.1:11434/v1", help: "Base URL of the OpenAI-compatible server (…/v1)."),
        SettingSpec("backend_api_key", default: "", .secret, help: "Key sent to the upstream server (never a client's key)."),
        SettingSpec("backend_timeout", default: "600", .seconds, help: "Seconds an upstream call may take."),
        SettingSpec("cpu_scheduling", default: "batch", .choice(["batch", "normal"]),
                    help: "Kernel scheduling of the server's threads: batch (SCHED_BATCH: a thread handing work to another is not preempted, so hand-offs pile up instead of each costing a context switch; more throughput on busy cores) or normal (the default policy)."),
        SettingSpec("echo_delay_ms", default: "0", .integer(0...60_000), help: "Echo backend: milliseconds between tokens."),
        SettingSpec("run_expiry", default: "600", .integer(1...86_400), help: "Seconds after creation an unfinished run expires."),
        SettingSpec("max_concurrent_runs", default: "64", .integer(1...100_000), help: "Runs executing at once; more wait queued."),
        SettingSpec("max_queued_runs", default: "10000", .integer(1...10_000_000),
                    help: "Runs waiting for an execution slot; past it, creating a run answers 429 with Retry-After."),
        SettingSpec("poll_hold", default: "2", .seconds, help: "Seconds a poll-helper GET of an unfinished run may wait for it to change."),
        SettingSpec("stream_keep_alive", default: "15", .seconds, help: "Seconds of silence after which a stream gets a keep-alive comment."),
        SettingSpec("max_file_bytes", default: "536870912", .integer(1...(1 << 40)),
                    help: "Largest file POST /files accepts (413 beyond); uploads stream to the database in 1 MiB pieces."),
        SettingSpec("ingestion_workers", default: "2", .integer(1...64), help: "Files this node parses and indexes for vector stores at once."),
        SettingSpec("embedding_model", default: "", .text,
                    help: "Embedding model on the backend server (/embeddings) ranked with full-text search; empty: full-text search alone."),
        SettingSpec("code_interpreter_python", default: "python3", .text,
                    help: "Python of code interpreter sessions: a venv of the system python3 (scripts/code-python.sh builds one)."),
        SettingSpec("code_session_idle", default: "1200", .seconds, help: "Seconds a thread's idle code interpreter session is kept."),
        SettingSpec("code_call_timeout", default: "60", .seconds,
                    help: "Seconds one code interpreter call may run before it is interrupted (killed 5 s later)."),
        SettingSpec("code_memory_bytes", default: "1073741824", .integer((64 << 20)...(1 << 40)),
                    help: "Address space of a code interpreter session; past it the code gets MemoryError."),
        SettingSpec("code_max_sessions", default: "8", .integer(1...1000), help: "Code interpreter sessions alive at once on this node."),
        SettingSpec("code_log_bytes", default: "20000", .integer(1000...(16 << 20)),
                    help: "Logs of one code interpreter call handed back (to the model and the step); the rest is cut and said so."),
        SettingSpec("code_folder_bytes", default: "536870912", .integer((1 << 20)...(1 << 40)),
                    help: "A code interpreter session's folder (and any one file it writes); past it the session is reset."),
        SettingSpec("sqlite_synchronous", default: "NORMAL", .choice(["NORMAL", "FULL"]),
                    help: "NORMAL survives a crash of the process; FULL also a power loss, with slower writes."),
    ]

    /// Keys only the config file has, listed in `--help` for completeness.
    static let apiKeysHelp = """
          --api-key KEY                default: none
              env RUNNEL_API_KEYS (comma-separated), config "api_keys": [{"key": "…", "project": "…"}].
              Repeatable. With no key every request is accepted and all objects share one project.
              A key given as a flag or in the environment gets a project of its own; the config
              file names projects, so several keys (or a rotated key) can share one.
        """
}
