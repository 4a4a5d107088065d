import Dispatch
import FoundationEssentials
import Glibc
import RunsDomain
import Synchronization

/// A file handed to a session before a call, read piece by piece (`piece(n)`, nil past the end)
/// only if the session does not hold it yet.
public struct CodeInput: Sendable {
    public var id: String
    public var name: String
    public var piece: @Sendable (Int) throws -> [UInt8]?

    public init(id: String, name: String, piece: @escaping @Sendable (Int) throws -> [UInt8]?) {
        self.id = id
        self.name = name
        self.piece = piece
    }
}

/// A call's result with what it left in the session folder.
public struct CodeCall: Sendable {
    public var result: CodeResult
    /// Files the call created or changed, relative to the folder.
    public var outputs: [String]
    /// The folder as the code sees it (`/mnt/data` at level A).
    public var dataPath: String
    let folder: SessionFolder

    /// An output or a figure, opened without following links.
    public func open(_ relative: String) -> OpenFile? { folder.open(relative) }
}

public enum CodeSessionsError: Error, CustomStringConvertible {
    case busy(Int)
    case startFailed(String)

    public var description: String {
        switch self {
        case .busy(let count): "All \(count) code interpreter sessions are running code; retry when one finishes."
        case .startFailed(let reason): "The code interpreter sandbox could not start: \(reason)"
        }
    }
}

/// One persistent Python session per key (a thread), at most `maxSessions` at once: an idle one
/// is evicted for a newcomer, and sessions idle past `idleSeconds` or older than `maxAgeSeconds`
/// are ended by `evictExpired`. Calls in one session run one at a time on its own queue.
public final class CodeSessions: Sendable {
    public let level: SandboxLevel
    let programs: SandboxPrograms
    let limits: SandboxLimits
    let root: String

    private final class Slot: @unchecked Sendable {
        let session: CodeSession
        let index: Int
        let queue: DispatchQueue
        /// Guarded by `CodeSessions.slots`.
        var busy = 0
        /// Inputs already in the folder; touched only on `queue`.
        var copied: Set<String> = []

        init(session: CodeSession, index: Int) {
            self.session = session
            self.index = index
            queue = DispatchQueue(label: "runnel.code.\(index)")
        }
    }

    private let slots = Mutex<[String: Slot]>([:])

    /// `nonisolated(unsafe)`: created once here; Dispatch sources are safe to use from any thread.
    nonisolated(unsafe) private let evictionTimer: any DispatchSourceTimer

    public init(level: SandboxLevel, programs: SandboxPrograms, limits: SandboxLimits, root: String) {
        self.level = level
        self.programs = programs
        self.limits = limits
        self.root = root
        evictionTimer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "runnel.code.evict", target: .global(qos: .utility)))
        // Active from the start (an inactive source may not be released), idle until `startEvicting`.
        evictionTimer.schedule(deadline: .distantFuture)
        evictionTimer.activate()
    }

    /// Runs `code` in the session of `key`, starting one (with `inputs` copied in) if needed.
    public func execute(key: String, code: String, inputs: [CodeInput] = []) async throws -> CodeCall {
        let slot = try claim(key)
        defer { release(slot) }
        return await withCheckedContinuation { continuation in
            slot.queue.async { continuation.resume(returning: self.call(slot, code: code, inputs: inputs)) }
        }
    }

    private func call(_ slot: Slot, code: String, inputs: [CodeInput]) -> CodeCall {
        let session = slot.session
        let folder = SessionFolder(path: session.launch.folder)
        for input in inputs where !slot.copied.contains(input.id) {
            let path = session.launch.folder + "/" + SessionFolder.safeName(input.name)
            if copy(input, to: path, slot: slot.index) { slot.copied.insert(input.id) }
        }
        let before = folder.snapshot()
        // A session that has ended says so itself and is replaced at the next claim.
        var result = session.execute(code)
        let after = folder.snapshot()
        if after.values.reduce(0, { $0 + $1.size }) > limits.folderBytes {
            session.kill()
            result.reset = true
            result.error = "The session folder grew past \(limits.folderBytes >> 20) MiB; the session was reset."
        }
        return CodeCall(result: result, outputs: SessionFolder.changed(from: before, to: after), dataPath: session.launch.dataPath,
                        folder: folder)
    }

    private func copy(_ input: CodeInput, to path: String, slot index: Int) -> Bool {
        guard let file = try? OpenFile.writing(path) else { return false }
        own(path, slot: index)
        do {
            var seq = 0
            while let piece = try input.piece(seq) {
                try file.write(Array(piece))
                seq += 1
            }
            return true
        } catch {
            return false
        }
    }

    private func claim(_ key: String) throws -> Slot {
        var evicted: [CodeSession] = []
        defer { evicted.forEach { end($0) } }
        let existing = slots.withLock { slots -> Slot? in
            guard let slot = slots[key] else { return nil }
            if !slot.session.isAlive, slot.busy == 0 {
                evicted.append(slot.session)
                slots[key] = nil
                return nil
            }
            slot.busy += 1
            return slot
        }
        if let existing { return existing }
        let index = try slots.withLock { slots -> Int in
            if slots.count >= limits.maxSessions {
                guard let idle = slots.filter({ $0.value.busy == 0 }).min(by: { $0.value.session.lastUsed < $1.value.session.lastUsed }) else {
                    throw CodeSessionsError.busy(slots.count)
                }
                evicted.append(idle.value.session)
                slots[idle.key] = nil
            }
            let used = Set(slots.values.map(\.index))
            return (0..<limits.maxSessions).first { !used.contains($0) } ?? 0
        }
        let session = try startSession(index: index)
        return slots.withLock { slots in
            let slot = Slot(session: session, index: index)
            slot.busy = 1
            if let raced = slots[key] { evicted.append(raced.session) }
            slots[key] = slot
            return slot
        }
    }

    private func release(_ slot: Slot) {
        slots.withLock { _ in slot.busy -= 1 }
    }

    /// Ends sessions idle too long or too old; call now and then.
    public func evictExpired(now: Date = Date()) {
        let expired = slots.withLock { slots -> [CodeSession] in
            let gone = slots.filter { _, slot in
                slot.busy == 0 && (now.timeIntervalSince(slot.session.lastUsed) > limits.idleSeconds
                    || now.timeIntervalSince(slot.session.startedAt) > limits.maxAgeSeconds || !slot.session.isAlive)
            }
            for key in gone.keys { slots[key] = nil }
            return gone.values.map(\.session)
        }
        expired.forEach { end($0) }
    }

    /// Ends idle and old sessions once a minute from now on.
    public func startEvicting() {
        evictionTimer.setEventHandler { [weak self] in self?.evictExpired() }
        evictionTimer.schedule(deadline: .now() + 60, repeating: 60)
    }

    public func shutdown() {
        evictionTimer.cancel()
        let all = slots.withLock { slots -> [CodeSession] in
            defer { slots = [:] }
            return slots.values.map(\.session)
        }
        all.forEach { end($0) }
        try? FileManager.default.removeItem(atPath: root)
    }

    private func end(_ session: CodeSession) {
        session.kill()
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: session.launch.folder).deletingLastPathComponent().path)
    }

    // MARK: Starting

    /// The ids a session takes when the server runs as root: its own per slot, so the kernel's
    /// per-user process count bounds each session alone.
    static let firstID: UInt32 = 2_100_000

    private func startSession(index: Int) throws -> CodeSession {
        let base = root + "/" + UUID().uuidString.lowercased()
        let folder = base + "/data", tmp = base + "/tmp"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        } catch {
            throw CodeSessionsError.startFailed("cannot create the session folder under \(root): \(error)")
        }
        let asRoot = getuid() == 0
        let id = Self.id(slot: index)
        if asRoot {
            chmod(base, 0o711)
            for path in [folder, tmp] { chown(path, id, id) }
        }
        let processes = asRoot ? limits.processes : Self.tasksOfThisUser() + limits.processes
        let launch = SandboxLaunch(level: level, programs: programs, limits: limits, folder: folder, tmp: tmp,
                                   ids: asRoot ? (id, id) : nil, processes: processes)
        let session = CodeSession(launch: launch)
        do {
            try session.start()
        } catch {
            try? FileManager.default.removeItem(atPath: base)
            throw CodeSessionsError.startFailed("\(error)")
        }
        return session
    }

    private static func id(slot index: Int) -> UInt32 { firstID + UInt32(index) }

    private func own(_ path: String, slot index: Int) {
        guard getuid() == 0 else { return }
        chown(path, Self.id(slot: index), Self.id(slot: index))
    }

    /// Processes and threads this user runs now: without root the kernel counts a session's
    /// processes together with them.
    static func tasksOfThisUser() -> Int {
        let uid = getuid()
        var total = 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.first?.isNumber == true {
            var info = stat()
            guard stat("/proc/" + entry, &info) == 0, info.st_uid == uid else { continue }
            let status = (try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8)) ?? ""
            let threads = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
            total += threads.flatMap { Int($0.dropFirst(8).trimmed) } ?? 1
        }
        return total
    }
}
