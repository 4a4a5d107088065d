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
        if case .found(let handler, let parameters, _) = router.match(method: method, path: path[...]) {
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

    /// Labels name the route, never the ids in the path.
    @Test func theTemplateNamesTheRouteWithoutItsIDs() {
        for (path, expected) in [("/v1/threads/t_1/messages/m%201", "/v1/threads/{thread_id}/messages/{message_id}"),
                                 ("/threads/t_1/messages/m%201/", "/threads/{thread_id}/messages/{message_id}")] {
            guard case .found(_, _, let template) = router.match(method: "GET", path: path[...]) else {
                Issue.record("expected a route for \(path)")
                continue
            }
            #expect(template == expected)
        }
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
        guard case .found(let length, let parameters, _) = lengths.match(method: "GET", path: "/v1/threads/t1") else {
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

/// The byte-level matching's edges.
struct RouterEdgeTests {
    let router: Router<String> = {
        var router = Router<String>(optionalPrefix: "v1")
        router.add("GET", "/threads/:thread_id", "get-thread")
        router.add("GET", "/threads", "list-threads")
        return router
    }()

    func handler(_ path: String) -> String? {
        if case .found(let handler, _, _) = router.match(method: "GET", path: path[...]) { return handler }
        return nil
    }

    @Test func trailingSlashEmptyPartsAndLengths() {
        #expect(handler("/v1/threads/") == "list-threads")
        #expect(handler("/v1/threads/t1/") == "get-thread")
        #expect(handler("/v1/threads//") == nil)
        #expect(handler("/v1") == nil)
        #expect(handler("/") == nil)
        #expect(handler("") == nil)
        #expect(handler("/v1/threadss") == nil)
        #expect(handler("/v1/thread") == nil)
        #expect(handler("/v1/" + Array(repeating: "a", count: 40).joined(separator: "/")) == nil)
    }

    @Test func parametersArePercentDecodedAndKeepTheirBytes() {
        guard case .found(_, let parameters, _) = router.match(method: "GET", path: "/threads/a%2Fb%20c") else {
            Issue.record("expected a match")
            return
        }
        #expect(parameters == ["thread_id": "a/b c"])
        guard case .found(_, let unicode, _) = router.match(method: "GET", path: "/threads/é") else {
            Issue.record("expected a match")
            return
        }
        #expect(unicode == ["thread_id": "é"])
    }
}
