import Testing
@testable import HTTPServer

struct RouterTests {
    let router: Router<String> = {
        var router = Router<String>(optionalPrefix: "v1")
        router.add("GET", "/threads/:thread_id", "get-thread")
        router.add("POST", "/threads/:thread_id", "modify-thread")
        router.add("POST", "/threads/runs", "create-thread-and-run")
        router.add("GET", "/threads/:thread_id/messages/:message_id", "get-message")
        return router
    }()

    func found(_ method: String, _ path: String) -> (String, [String: String])? {
        if case .found(let handler, let parameters) = router.match(method: method, path: path[...]) {
            return (handler, parameters)
        }
        return nil
    }

    @Test func matchesWithAndWithoutPrefix() {
        #expect(found("GET", "/v1/threads/t_1")?.0 == "get-thread")
        #expect(found("GET", "/threads/t_1")?.1 == ["thread_id": "t_1"])
        #expect(found("GET", "/v1/threads/t_1/messages/m%201")?.1 == ["thread_id": "t_1", "message_id": "m 1"])
    }

    @Test func literalRoutesAreFoundBesideParameters() {
        #expect(found("POST", "/v1/threads/runs")?.0 == "create-thread-and-run")
    }

    @Test func headUsesGet() {
        #expect(found("HEAD", "/v1/threads/t")?.0 == "get-thread")
    }

    @Test func unknownPathIsNotFound() {
        guard case .notFound = router.match(method: "GET", path: "/v1/nothing") else {
            Issue.record("expected not found")
            return
        }
        guard case .notFound = router.match(method: "GET", path: "/v1/threads/t/extra") else {
            Issue.record("expected not found")
            return
        }
    }

    @Test func wrongMethodListsAllowed() {
        guard case .methodNotAllowed(let allowed) = router.match(method: "DELETE", path: "/v1/threads/t") else {
            Issue.record("expected 405")
            return
        }
        #expect(Set(allowed) == ["GET", "POST", "HEAD"])
    }

    @Test func compactMapKeepsTheChosenRoutesWithTheirPatterns() {
        let lengths = router.compactMap { handler in handler.hasPrefix("get") ? handler.count : nil }
        guard case .found(let length, let parameters) = lengths.match(method: "GET", path: "/v1/threads/t1") else {
            Issue.record("expected a kept route")
            return
        }
        #expect(length == "get-thread".count && parameters == ["thread_id": "t1"])
        guard case .methodNotAllowed = lengths.match(method: "POST", path: "/threads/t1") else {
            Issue.record("a route left out must not match")
            return
        }
    }
}
