import Testing
@testable import RunsDomain
@testable import RunsEngine

/// The executing runs' kept state that answers polls without the database.
struct LiveRunsTests {
    func run(version: Int, status: RunStatus = .inProgress, metadata: JSONValue = [:]) -> Run {
        var run = Run(RunFields(id: "run_1", createdAt: 1, threadID: "thread_1", assistantID: "asst_1", status: status,
                                expiresAt: 600, model: "echo", instructions: "", metadata: metadata))
        run.version = version
        return run
    }

    @Test func answersOnlyForTheRunsProjectAndThreadOnceTakenUp() throws {
        let live = LiveRuns(enabled: true)
        live.hold("run_1")
        #expect(live.answer("run_1", project: "p", threadID: "thread_1") == nil)
        live.track(run(version: 1), project: "p")
        let answer = try #require(live.answer("run_1", project: "p", threadID: "thread_1"))
        #expect(answer.run.status == .inProgress)
        #expect(String(decoding: answer.body, as: UTF8.self).contains(#""status":"in_progress""#))
        #expect(live.answer("run_1", project: "other", threadID: "thread_1") == nil)
        #expect(live.answer("run_1", project: "p", threadID: "thread_2") == nil)
        live.forget("run_1")
        #expect(live.answer("run_1", project: "p", threadID: "thread_1") == nil)
    }

    /// A change published late (an older version) never replaces a newer one, and a new state's
    /// body is encoded anew.
    @Test func keepsTheNewestVersion() throws {
        let live = LiveRuns(enabled: true)
        live.hold("run_1")
        live.track(run(version: 2), project: "p")
        _ = live.answer("run_1", project: "p", threadID: "thread_1")
        live.update(run(version: 3, status: .cancelling, metadata: ["k": "v"]))
        live.update(run(version: 2))
        let answer = try #require(live.answer("run_1", project: "p", threadID: "thread_1"))
        #expect(answer.run.version == 3 && answer.run.status == .cancelling)
        let body = String(decoding: answer.body, as: UTF8.self)
        #expect(body.contains(#""status":"cancelling""#) && body.contains(#""metadata":{"k":"v"}"#))
    }

    @Test func runsNotHeldHereAreNotKept() {
        let live = LiveRuns(enabled: true)
        live.update(run(version: 1))
        #expect(live.answer("run_1", project: "p", threadID: "thread_1") == nil)
        let disabled = LiveRuns(enabled: false)
        disabled.hold("run_1")
        disabled.track(run(version: 1), project: "p")
        #expect(disabled.answer("run_1", project: "p", threadID: "thread_1") == nil)
    }
}
