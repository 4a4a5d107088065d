import FoundationEssentials
import RunsDomain
import RunsStorage
import Synchronization

/// Turns vector store files into indexed chunks in the background: a bounded number of workers
/// claim waiting files from the database (so several nodes share the work, and a file whose node
/// died is taken up again), extract their text, chunk it and store the chunks in batches.
public final class IngestionPool: Sendable {
    /// Chunks stored per transaction.
    static let batchSize = 256
    static let leaseMilliseconds = 15_000
    static let heartbeatSeconds = 5.0
    /// Claims of one file (each a node that stopped mid-way) before it fails.
    static let maxAttempts = 3

    let database: any Store
    let node: String
    let clock: any Clock
    let workers: Int
    let pdfTimeoutSeconds: Double
    /// When set, every chunk is stored with its embedding.
    let embeddings: Embeddings?
    /// Problems, and what is merely worth knowing.
    let log: @Sendable (String) -> Void
    let info: @Sendable (String) -> Void
    /// Lets other parts (a held poll) know a file's status changed on this node.
    let onChange: @Sendable () -> Void
    private let wakeups = Atomic<Int>(0)
    /// Files were indexed since the index was last merged (set at start: a restart may have cut a merge short).
    private let mergeDue = Atomic<Bool>(true)
    private let merging = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private let tasks = Mutex<[Task<Void, Never>]>([])

    public init(database: any Store, node: String, clock: any Clock, workers: Int, pdfTimeoutSeconds: Double,
                embeddings: Embeddings? = nil, log: @escaping @Sendable (String) -> Void, info: @escaping @Sendable (String) -> Void = { _ in },
                onChange: @escaping @Sendable () -> Void = {}) {
        self.embeddings = embeddings
        self.database = database
        self.node = node
        self.clock = clock
        self.workers = max(1, workers)
        self.pdfTimeoutSeconds = pdfTimeoutSeconds
        self.log = log
        self.info = info
        self.onChange = onChange
    }

    /// An upload that stored no piece for this long was abandoned (its client or node is gone).
    static let staleUploadSeconds = 3600
    /// How often abandoned uploads and expired files are looked for.
    static let sweepSeconds = 10.0

    /// Starts the workers. A lone process (SQLite) first frees every lease and drops every
    /// unfinished upload: whoever held them is gone.
    public func start() throws {
        if database.dialect == .sqlite {
            let now = clock.nowSeconds()
            try database.writeNow { db in
                try IngestionQueue.releaseAll(db)
                _ = try FileRepository.sweepStaleUploads(db, staleBefore: now + 1)
            }
        }
        let started = (0..<workers).map { _ in Task { [self] in await work() } } + [Task { [self] in await sweepUploads() }]
        tasks.withLock { $0 = started }
    }

    public func stop() {
        stopped.store(true, ordering: .releasing)
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }

    /// New work was queued here: idle workers look for it now rather than at their next poll.
    public func wake() {
        wakeups.add(1, ordering: .releasing)
    }

    private var isStopped: Bool { stopped.load(ordering: .acquiring) }

    private func work() async {
        while !isStopped {
            let seen = wakeups.load(ordering: .acquiring)
            do {
                let now = clock.nowMilliseconds()
                let node = node
                if let claim = try await database.writing({ db in
                    try IngestionQueue.claim(db, node: node, nowMilliseconds: Int(now), leaseMilliseconds: Self.leaseMilliseconds,
                                             maxAttempts: Self.maxAttempts)
                }) {
                    await ingest(claim)
                    continue
                }
            } catch {
                log("ingestion: could not claim a file: \(error)")
            }
            await mergeIndexIfDue()
            // Idle: another node's work is found by polling once a second, this node's at once.
            for _ in 0..<20 where !isStopped && wakeups.load(ordering: .acquiring) == seen {
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    /// The full-text index is merged while no file waits, a step per transaction so other
    /// writes go between; during ingestion it is left for speed (see `ChunkRepository.mergeStep`).
    private func mergeIndexIfDue() async {
        guard mergeDue.load(ordering: .acquiring),
              merging.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        defer { merging.store(false, ordering: .releasing) }
        mergeDue.store(false, ordering: .releasing)
        let started = clock.nowMilliseconds()
        var steps = 0
        do {
            while !isStopped, try await database.writing({ try ChunkRepository($0).mergeStep() }) {
                steps += 1
                // New files come first; the merge resumes once they are done.
                if mergeDue.load(ordering: .acquiring) { return }
            }
        } catch {
            mergeDue.store(true, ordering: .releasing)
            log("ingestion: could not merge the search index: \(error)")
        }
        if steps > 0 { info("search index merged in \(steps) step(s), \(clock.nowMilliseconds() - started) ms") }
    }

    private func sweepUploads() async {
        while !isStopped {
            try? await Task.sleep(nanoseconds: UInt64(Self.sweepSeconds * 1e9))
            let now = clock.nowSeconds()
            let before = now - Self.staleUploadSeconds
            if let swept = try? await database.writing({ try FileRepository.sweepStaleUploads($0, staleBefore: before) }), swept > 0 {
                info("removed \(swept) upload(s) abandoned for over an hour")
            }
            if let expired = try? await database.writing({ try FileRepository.sweepExpired($0, now: now) }), expired > 0 {
                info("removed \(expired) expired file(s)")
            }
        }
    }

    private func ingest(_ claim: IngestionClaim) async {
        let lost = LeaseFlag()
        let heartbeat = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(Self.heartbeatSeconds * 1e9))
                if Task.isCancelled { return }
                if !(await renew(claim)) {
                    lost.mark()
                    return
                }
            }
        }
        defer { heartbeat.cancel() }
        let outcome: (VectorStoreFileStatus, Int, JSONValue?)
        do {
            let usage = try await FileIngestion(pool: self, claim: claim, lost: lost).run()
            outcome = (.completed, usage, nil)
        } catch let failure as IngestionFailure {
            outcome = (.failed, 0, ["code": .string(failure.code), "message": .string(failure.message)])
        } catch is LeaseLost {
            return
        } catch {
            log("ingestion of \(claim.file) in \(claim.store) failed: \(error)")
            outcome = (.failed, 0, ["code": "server_error", "message": "The server had an error while indexing this file."])
        }
        let node = node
        do {
            try await database.writing { db in
                if outcome.0 != .completed { try ChunkRepository(db).delete(store: claim.store, file: claim.file) }
                try IngestionQueue.finish(db, store: claim.store, file: claim.file, node: node, status: outcome.0,
                                          usageBytes: outcome.1, error: outcome.2)
            }
            mergeDue.store(true, ordering: .releasing)
            onChange()
        } catch {
            // The lease runs out and the file is taken up again.
            log("ingestion of \(claim.file) in \(claim.store): could not store its ending: \(error)")
        }
    }

    func renew(_ claim: IngestionClaim) async -> Bool {
        let (node, until) = (node, Int(clock.nowMilliseconds()) + Self.leaseMilliseconds)
        return (try? await database.writing { db in try IngestionQueue.renew(db, claim, node: node, until: until) }) ?? true
    }
}

/// Why a file could not be indexed, as its `last_error`.
struct IngestionFailure: Error {
    var code: String
    var message: String
}

/// The file was deleted, cancelled or taken over while this node indexed it.
struct LeaseLost: Error {}

/// Set by the heartbeat when the claim is gone, read by the worker between pieces.
final class LeaseFlag: Sendable {
    private let lost = Atomic<Bool>(false)

    func mark() { lost.store(true, ordering: .releasing) }
    var isLost: Bool { lost.load(ordering: .acquiring) }
}
