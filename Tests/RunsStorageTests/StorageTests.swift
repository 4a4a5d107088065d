import Foundation
import StoreTestSupport
import Testing
@testable import RunsDomain
@testable import RunsStorage

struct MigrationTests {
    @Test(arguments: StoreKind.available)
    func embeddedMigrationsAreOrderedAndApplied(kind: StoreKind) throws {
        let temporary = try TemporaryDatabase(kind)
        let migrations = try Migration.embedded(temporary.database.dialect)
        #expect(!migrations.isEmpty)
        #expect(migrations.map(\.version) == migrations.map(\.version).sorted())
        let recorded = try temporary.database.readNow { db in
            try db.query("SELECT version FROM schema_migrations ORDER BY version", []) { try $0.int("version") }
        }
        #expect(recorded == migrations.map(\.version))
    }

    /// A version means the same change in either database.
    @Test func bothDialectsShareTheirNumbering() throws {
        let sqlite = try Migration.embedded(.sqlite).map(\.name)
        let postgresql = try Migration.embedded(.postgresql).map(\.name)
        #expect(sqlite == postgresql)
    }

    @Test func applyingTwiceDoesNothing() throws {
        let temporary = try TemporaryDatabase()
        let again = try temporary.database.writeNow { db in
            try MigrationRunner.apply(try Migration.embedded(.sqlite), to: db, now: 0, location: "test")
        }
        #expect(again.isEmpty)
    }

    @Test func failingMigrationRollsBackAndIsNotRecorded() throws {
        let temporary = try TemporaryDatabase(migrations: [Migration(version: 1, name: "0001_a.sql", sql: "CREATE TABLE a (x INTEGER);")])
        let broken = [
            Migration(version: 1, name: "0001_a.sql", sql: "CREATE TABLE a (x INTEGER);"),
            Migration(version: 2, name: "0002_b.sql", sql: "CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1);"),
        ]
        #expect(throws: MigrationError.self) {
            try temporary.database.writeNow { db in try MigrationRunner.apply(broken, to: db, now: 0, location: "test") }
        }
        let (versions, tables) = try temporary.database.writeNow { db in
            (try db.query("SELECT version FROM schema_migrations", []) { try $0.int("version") },
             try db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'b'", []) { try $0.string("name") })
        }
        #expect(versions == [1])
        #expect(tables.isEmpty)
    }

    @Test func newerDatabaseIsRefused() throws {
        let temporary = try TemporaryDatabase(migrations: [Migration(version: 1, name: "0001_a.sql", sql: "CREATE TABLE a (x INTEGER);")])
        #expect(throws: MigrationError.self) {
            try temporary.database.writeNow { db in try MigrationRunner.apply([], to: db, now: 0, location: "test") }
        }
    }

    @Test func fileNamesGiveVersions() throws {
        let parsed = try Migration.parse([(name: "0002_b.sql", sql: ""), (name: "0001_a.sql", sql: "")])
        #expect(parsed.map(\.version) == [1, 2])
        #expect(throws: MigrationError.self) { try Migration.parse([(name: "a.sql", sql: "")]) }
        #expect(throws: MigrationError.self) { try Migration.parse([(name: "1_a.sql", sql: ""), (name: "01_b.sql", sql: "")]) }
    }
}

/// Every repository test runs on each store the machine has (PostgreSQL when the test command
/// provisioned one).
@Suite(.serialized) struct RepositoryTests {
    final class Fixture {
        let temporary: TemporaryDatabase
        let clock = ManualClock()
        let ids: ObjectIDGenerator

        init(_ kind: StoreKind) throws {
            temporary = try TemporaryDatabase(kind)
            ids = ObjectIDGenerator(clock: clock)
        }

        /// Threads with messages all created within the same second.
        func threadWithMessages(_ count: Int, project: String = "p") throws -> (String, [String]) {
            let threadID = ids.id(.thread)
            var messageIDs: [String] = []
            try temporary.database.writeNow { db in
                try ThreadRepository(db, project: project).insert(ChatThread(id: threadID, createdAt: clock.nowSeconds()))
                for index in 0..<count {
                    let (id, createdAt) = ids.make(.message)
                    messageIDs.append(id)
                    try MessageRepository(db, project: project).insert(Message(
                        id: id, createdAt: createdAt, threadID: threadID, role: .user, content: [MessageInput.textPart("m\(index)")]))
                }
            }
            return (threadID, messageIDs)
        }

        func list(_ threadID: String, _ query: ListQuery, project: String = "p") throws -> Page<Message> {
            try temporary.database.readNow { db in try MessageRepository(db, project: project).list(threadID: threadID, query) }
        }
    }

    @Test(arguments: StoreKind.available)
    func sameSecondObjectsKeepCreationOrder(kind: StoreKind) throws {
        let fixture = try Fixture(kind)
        let (thread, created) = try fixture.threadWithMessages(30)
        let ascending = try fixture.list(thread, ListQuery(limit: 100, order: .asc))
        #expect(ascending.items.map(\.id) == created)
        #expect(ascending.hasMore == false)
        let descending = try fixture.list(thread, ListQuery(limit: 100))
        #expect(descending.items.map(\.id) == created.reversed())
    }

    @Test(arguments: StoreKind.available)
    func afterCursorPagesForwardInEitherOrder(kind: StoreKind) throws {
        let fixture = try Fixture(kind)
        let (thread, created) = try fixture.threadWithMessages(7)
        var seen: [String] = []
        var query = ListQuery(limit: 3, order: .asc)
        while true {
            let page = try fixture.list(thread, query)
            seen += page.items.map(\.id)
            guard page.hasMore, let last = page.items.last else { break }
            query.after = last.id
        }
        #expect(seen == created)
        let firstDescending = try fixture.list(thread, ListQuery(limit: 3))
        #expect(firstDescending.items.map(\.id) == Array(created.reversed().prefix(3)))
        #expect(firstDescending.hasMore)
        let secondDescending = try fixture.list(thread, ListQuery(limit: 3, after: firstDescending.items.last!.id))
        #expect(secondDescending.items.map(\.id) == Array(created.reversed()[3..<6]))
    }

    @Test(arguments: StoreKind.available)
    func beforeCursorReturnsTheAdjacentPreviousPage(kind: StoreKind) throws {
        let fixture = try Fixture(kind)
        let (thread, created) = try fixture.threadWithMessages(10)
        let page = try fixture.list(thread, ListQuery(limit: 3, order: .asc, before: created[6]))
        #expect(page.items.map(\.id) == Array(created[3..<6]))
        #expect(page.hasMore)
        let lastPage = try fixture.list(thread, ListQuery(limit: 5, order: .asc, before: created[2]))
        #expect(lastPage.items.map(\.id) == Array(created[0..<2]))
        #expect(lastPage.hasMore == false)
    }

    @Test(arguments: StoreKind.available)
    func cursorNamingADeletedObjectStillWorks(kind: StoreKind) throws {
        let fixture = try Fixture(kind)
        let (thread, created) = try fixture.threadWithMessages(5)
        _ = try fixture.temporary.database.writeNow { db in try MessageRepository(db, project: "p").delete(created[1], threadID: thread) }
        let page = try fixture.list(thread, ListQuery(limit: 10, order: .asc, after: created[1]))
        #expect(page.items.map(\.id) == Array(created[2...]))
    }

    @Test(arguments: StoreKind.available)
    func projectsDoNotSeeEachOther(kind: StoreKind) throws {
        let fixture = try Fixture(kind)
        let (thread, created) = try fixture.threadWithMessages(2, project: "a")
        let found = try fixture.temporary.database.readNow { db in
            (try ThreadRepository(db, project: "b").find(thread), try MessageRepository(db, project: "b").find(created[0], threadID: thread))
        }
        #expect(found.0 == nil)
        #expect(found.1 == nil)
        #expect(try fixture.list(thread, ListQuery(), project: "b").items.isEmpty)
    }

    @Test(arguments: StoreKind.available)
    func deletingAThreadDeletesItsMessages(kind: StoreKind) throws {
        let fixture = try Fixture(kind)
        let (thread, _) = try fixture.threadWithMessages(3)
        let remaining = try fixture.temporary.database.writeNow { db in
            _ = try ThreadRepository(db, project: "p").delete(thread)
            return try db.queryOne("SELECT count(*) AS count FROM messages WHERE thread_id = ?", [.text(thread)]) { try $0.int("count") }
        }
        #expect(remaining == 0)
    }

    @Test(arguments: StoreKind.available)
    func assistantsRoundTripEveryField(kind: StoreKind) throws {
        let fixture = try Fixture(kind)
        let (id, createdAt) = fixture.ids.make(.assistant)
        let assistant = Assistant(
            id: id, createdAt: createdAt, name: "n", description: "d", model: "m", instructions: "i",
            tools: [["type": "code_interpreter"]], toolResources: ["code_interpreter": ["file_ids": ["f"]]],
            metadata: ["k": "v"], temperature: 0.5, topP: 0.25, responseFormat: ["type": "json_object"], reasoningEffort: "low")
        let read = try fixture.temporary.database.writeNow { db in
            try AssistantRepository(db, project: "p").insert(assistant)
            return try AssistantRepository(db, project: "p").find(id)
        }
        #expect(read == assistant)
    }
}

struct TextStorageTests {
    /// Text is bound with its byte length: a NUL inside is stored and read back, not a cut-off point.
    /// PostgreSQL text cannot hold NUL; the driver's escape must make that invisible.
    @Test(arguments: StoreKind.available)
    func textWithNULRoundTrips(kind: StoreKind) throws {
        let scratch = try TemporaryDatabase(kind)
        let database = scratch.database
        let assistant = Assistant(id: "asst_nul", createdAt: 1, name: "a\u{0}b", model: "m\u{0}", instructions: "abc\u{0}def")
        try database.writeNow { db in try AssistantRepository(db, project: "p").insert(assistant) }
        let stored = try database.readNow { db in try AssistantRepository(db, project: "p").find("asst_nul") }
        #expect(stored == assistant)
        #expect(try database.readNow { db in try AssistantRepository(db, project: "p").find("asst_nul\u{0}garbage") } == nil)
    }
}

struct StoreSemanticsTests {
    /// A failing inner transaction undoes only its own work; the outer write still commits.
    @Test(arguments: StoreKind.available)
    func nestedTransactionsAreSavepoints(kind: StoreKind) throws {
        let scratch = try TemporaryDatabase(kind)
        struct Refused: Error {}
        try scratch.database.writeNow { db in
            try ThreadRepository(db, project: "p").insert(ChatThread(id: "thread_outer", createdAt: 1))
            do {
                try db.transaction {
                    try ThreadRepository(db, project: "p").insert(ChatThread(id: "thread_inner", createdAt: 1))
                    throw Refused()
                }
            } catch is Refused {}
        }
        let found = try scratch.database.readNow { db in
            (try ThreadRepository(db, project: "p").find("thread_outer"), try ThreadRepository(db, project: "p").find("thread_inner"))
        }
        #expect(found.0 != nil)
        #expect(found.1 == nil)
    }

    /// A row that does not hold what its table promises throws; it is never read as a default.
    @Test(arguments: StoreKind.available)
    func aCorruptRowThrows(kind: StoreKind) throws {
        let scratch = try TemporaryDatabase(kind)
        try scratch.database.writeNow { db in
            try ThreadRepository(db, project: "p").insert(ChatThread(id: "thread_a", createdAt: 1))
            try db.run("""
                INSERT INTO runs (id, project, thread_id, assistant_id, created_at, status, model, instructions, truncation_strategy,
                    tool_choice, response_format)
                VALUES ('run_bad', 'p', 'thread_a', 'asst_a', 1, 'sleeping', 'm', '', '{"type":"auto"}', '"auto"', '"auto"')
                """, [])
            try db.run("UPDATE threads SET metadata = 'not json' WHERE id = 'thread_a'", [])
        }
        #expect(throws: CorruptRow.self) { try scratch.database.readNow { db in try RunRepository(db, project: "p").find("run_bad") } }
        #expect(throws: CorruptRow.self) { try scratch.database.readNow { db in try ThreadRepository(db, project: "p").find("thread_a") } }
    }

    @Test func placeholdersBecomeNumberedOutsideStrings() {
        #expect(PlaceholderRewriter.postgres("SELECT ?, '?', ?") == "SELECT $1, '?', $2")
        #expect(PlaceholderRewriter.postgres("UPDATE t SET a = ?2 WHERE b = ?1") == "UPDATE t SET a = $2 WHERE b = $1")
        #expect(PostgresText.decode(PostgresText.encode("a\u{0}b\u{FFFF}c\u{FFFF}\u{1}")) == "a\u{0}b\u{FFFF}c\u{FFFF}\u{1}")
        #expect(!PostgresText.encode("a\u{0}b").contains("\u{0}"))
        // U+0600 is a prepended mark: with what follows it makes one Character, so a check by
        // Characters would miss the U+FFFF in it and store the escape sequence unescaped.
        for text in ["\u{600}\u{FFFF}\u{1}", "\u{600}\u{FFFF}\u{2}x\u{0}", "quote'\u{301}"] {
            #expect(PostgresText.decode(PostgresText.encode(text)).unicodeScalars.elementsEqual(text.unicodeScalars))
        }
    }

    @Test func aDatabaseURLHidesItsPassword() throws {
        let url = try PostgresURL("postgres://user:s%40cret@db.example:6543/runnel?sslmode=require")
        #expect(url.password == "s@cret" && url.host == "db.example" && url.port == 6543 && url.database == "runnel")
        #expect(url.description == "postgres://user:***@db.example:6543/runnel")
        #expect(!url.connectionString(extra: []).isEmpty)
        #expect(throws: PostgresError.self) { try PostgresURL("postgres://u@h:99999/x") }
        // User and password are percent-decoded, as UTF-8; bytes that are not UTF-8 give none.
        let encoded = try PostgresURL("postgres://p%40ss%2Fw%C3%B8rd:pa%3Ass@h/db")
        #expect(encoded.user == "p@ss/wørd" && encoded.password == "pa:ss")
        #expect(try PostgresURL("postgres://u%FF:x@h/db").user == nil)
    }
}
