import RunsDomain
import RunsWire
import Synchronization

/// The committed state of the runs executing on this node, as the answer to `GET …/runs/{id}`:
/// what every SDK poll asks while a run executes is answered without reading the database.
/// Entries follow the run events published after each commit (newer versions only) and end when
/// the executor lets go of the run. Only for a database no other node writes (SQLite): another
/// node's change of a run would not reach this node's copy.
public final class LiveRuns: Sendable {
    /// A run's answer: its state, and that state encoded once it was first asked for.
    public struct Answer: Sendable {
        public let run: Run
        public let body: [UInt8]
    }

    /// Held from the executor's launch; the project and run come once the run is taken up. The
    /// body is encoded at the first poll of each state: a run nobody polls (a stream) costs no
    /// copy. A class, so the table holds a pointer per run (its storage stays at the size of the
    /// largest peak). Only touched under the lock.
    private final class Entry {
        var project: String?
        var run: Run?
        var body: [UInt8]?

        func isOlder(than run: Run) -> Bool { self.run.map { $0.version < run.version } ?? true }
    }

    private let entries = Mutex<[String: Entry]>([:])
    let enabled: Bool

    init(enabled: Bool) {
        self.enabled = enabled
    }

    /// The executor is launched: changes published from now on are kept.
    func hold(_ runID: String) {
        guard enabled else { return }
        entries.withLock { $0[runID] = Entry() }
    }

    /// The run as its executor took it up, with its project.
    func track(_ run: Run, project: String) {
        guard enabled else { return }
        entries.withLock { $0[run.id]?.project = project }
        update(run)
    }

    func forget(_ runID: String) {
        guard enabled else { return }
        entries.withLock { entries in
            entries[runID] = nil
            // The table's storage stays at its largest otherwise.
            if entries.isEmpty { entries = [:] }
        }
    }

    /// A run committed in a newer version than the one kept (a status change, new metadata).
    public func update(_ run: Run) {
        guard enabled else { return }
        entries.withLock { entries in
            guard let entry = entries[run.id], entry.isOlder(than: run) else { return }
            entry.run = run
            entry.body = nil
        }
    }

    func update(_ events: [RunEvent]) {
        guard enabled, let run = events.last(where: { $0.run != nil })?.run else { return }
        update(run)
    }

    /// The kept state of an executing run of this project and thread; nil when this node does
    /// not execute it (the database answers then).
    public func answer(_ runID: String, project: String, threadID: String) -> Answer? {
        let found = entries.withLock { entries -> (Run, [UInt8]?)? in
            guard let entry = entries[runID], entry.project == project, let run = entry.run, run.threadID == threadID else {
                return nil
            }
            return (run, entry.body)
        }
        guard let (run, kept) = found else { return nil }
        if let kept { return Answer(run: run, body: kept) }
        // Encoded outside the lock, and kept unless a newer state came meanwhile.
        let body = run.wire.serialized()
        entries.withLock { entries in
            if let entry = entries[runID], entry.run?.version == run.version { entry.body = body }
        }
        return Answer(run: run, body: body)
    }
}
