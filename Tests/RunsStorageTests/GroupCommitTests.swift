import Dispatch
import Foundation
import Synchronization
import Testing
@testable import RunsStorage

/// SQLite's group commit (`SQLiteWriteBatch`) and the lanes' shared read transactions.
struct GroupCommitTests {
    static let table = Migration(version: 1, name: "0001_t.sql", sql: "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);")

    /// Many writes at once, every fifth of which fails half-way: each failure rolls back only
    /// itself, every other write is stored, and each is answered with its own result.
    @Test func concurrentWritesCommitTogetherAndAFailureRollsBackOnlyItself() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-batch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path, migrations: [Self.table])
        defer { store.close() }
        struct Refused: Error {}
        let answers = Mutex<[Int: Result<Int, any Error>]>([:])
        let done = DispatchGroup()
        DispatchQueue.concurrentPerform(iterations: 200) { key in
            done.enter()
            store.write({ db -> Int in
                try db.run("INSERT INTO t (k, v) VALUES (?, ?)", [.integer(Int64(key)), .text("v\(key)")])
                if key % 5 == 0 { throw Refused() }
                return key * 2
            }, completion: { result in
                answers.withLock { $0[key] = result }
                done.leave()
            })
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        let stored = try store.readNow { db in try db.query("SELECT k FROM t ORDER BY k", []) { try $0.int("k") } }
        #expect(stored == (0..<200).filter { $0 % 5 != 0 })
        answers.withLock { answers in
            #expect(answers.count == 200)
            for (key, result) in answers {
                switch result {
                case .success(let value): #expect(key % 5 != 0 && value == key * 2)
                case .failure(let error): #expect(key % 5 == 0 && error is Refused)
                }
            }
        }
    }

    /// A write's completion runs only once its transaction committed: what it reads then on
    /// another connection includes it.
    @Test func aWriteIsAnsweredAfterItsCommit() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-batch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path, migrations: [Self.table])
        defer { store.close() }
        let seen = Mutex<[Int]>([])
        let done = DispatchGroup()
        for key in 0..<50 {
            done.enter()
            store.write({ db in
                try db.run("INSERT INTO t (k, v) VALUES (?, 'x')", [.integer(Int64(key))])
            }, completion: { _ in
                let count = (try? store.readNow { db in
                    try db.query("SELECT count(*) AS n FROM t WHERE k = ?", [.integer(Int64(key))]) { try $0.int("n") }.first
                }) ?? nil
                seen.withLock { $0.append(count ?? 0) }
                done.leave()
            })
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(seen.withLock { $0 } == Array(repeating: 1, count: 50))
    }

    /// A lane's reads share a snapshot until its turn ends; the next turn sees later commits.
    @Test func aLaneSeesNewCommitsOnlyAfterItsTurnEnds() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-lane-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path,
                                    options: DatabaseOptions(laneCount: 1), migrations: [Self.table])
        defer { store.close() }
        let lanes = try #require(store.laneReaders)
        let count = { (db: any SQLSession) in try db.query("SELECT count(*) AS n FROM t", []) { try $0.int("n") }.first ?? -1 }
        let first = try #require(try lanes.read(lane: 0, count))
        #expect(first.value == 0 && first.began)
        _ = try store.writeNow { db in try db.run("INSERT INTO t (k, v) VALUES (1, 'x')", []) }
        let sameTurn = try #require(try lanes.read(lane: 0, count))
        #expect(sameTurn.value == 0 && !sameTurn.began)
        lanes.endTurn(lane: 0)
        let nextTurn = try #require(try lanes.read(lane: 0, count))
        #expect(nextTurn.value == 1 && nextTurn.began)
        lanes.endTurn(lane: 0)
        #expect(try lanes.read(lane: 1, count) == nil)
    }
}
