import Dispatch
import Synchronization

/// Group commit for the one SQLite writer. Writes that arrive while the writer is busy wait
/// together and then run in one transaction, each in a savepoint of its own (a write that throws
/// rolls back only itself); each is told its result after that transaction commits. A commit
/// costs the same for one write as for a hundred, so under load this multiplies what the writer
/// can take, while a lone write still goes at once.
final class SQLiteWriteBatch: Sendable {
    /// Bounds how long the first write of a batch waits for the others' bodies to run.
    static let maxBatch = 128

    private let slot: ConnectionSlot
    private let state = Mutex<(queued: [QueuedWrite], draining: Bool)>(([], false))

    init(slot: ConnectionSlot) {
        self.slot = slot
    }

    func submit<T>(_ body: @escaping @Sendable (any SQLSession) throws -> T,
                   completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        let write = QueuedWrite(body: body, completion: completion)
        let start = state.withLock { state -> Bool in
            state.queued.append(write)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if start { slot.queue.async { self.drain() } }
    }

    /// On the writer's queue: runs what waits, a batch at a time, until nothing does.
    private func drain() {
        while true {
            let batch = state.withLock { state -> [QueuedWrite] in
                let taken = Array(state.queued.prefix(Self.maxBatch))
                state.queued.removeFirst(taken.count)
                if taken.isEmpty { state.draining = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            run(batch)
        }
    }

    private func run(_ batch: [QueuedWrite]) {
        let connection = slot.connection
        guard batch.count > 1 else {
            batch[0].runAlone(on: connection)
            return
        }
        do {
            let outcomes = try connection.transaction {
                try batch.map { write -> Result<Void, any Error> in
                    let outcome = write.runNested(on: connection)
                    // SQLite ended the whole transaction after this failure: the writes before it are gone too.
                    if case .failure(let error) = outcome, !connection.isInTransaction { throw BatchAborted(error: error) }
                    return outcome
                }
            }
            for (write, outcome) in zip(batch, outcomes) { write.report(outcome) }
        } catch {
            // The batch's transaction did not commit, so none of it was stored: each write runs
            // again by itself, as if it had come alone.
            for write in batch { write.runAlone(on: connection) }
        }
    }

    private struct BatchAborted: Error {
        let error: any Error
    }
}

/// One write waiting for the writer: its body, and the completion its result goes to.
///
/// `@unchecked Sendable`: it crosses from the submitting thread to the writer's queue once, through
/// the batch's lock, and only the writer's queue touches it after that.
private final class QueuedWrite: @unchecked Sendable {
    private let attempt: (SQLiteConnection) -> Result<Void, any Error>
    private let deliver: () -> Void
    private let fail: (any Error) -> Void

    init<T>(body: @escaping @Sendable (any SQLSession) throws -> T, completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        var value: T?
        attempt = { connection in
            Result {
                value = try connection.transaction { try body(connection) }
            }
        }
        deliver = {
            if let result = value { completion(.success(result)) }
        }
        fail = { completion(.failure($0)) }
    }

    /// In the batch's transaction, as a savepoint.
    func runNested(on connection: SQLiteConnection) -> Result<Void, any Error> {
        attempt(connection)
    }

    /// In a transaction of its own, reported at once.
    func runAlone(on connection: SQLiteConnection) {
        report(attempt(connection))
    }

    func report(_ outcome: Result<Void, any Error>) {
        switch outcome {
        case .success: deliver()
        case .failure(let error): fail(error)
        }
    }
}
