/// Matches `METHOD /path/:param` routes. A path that matches no route is `.notFound`; a path that
/// matches under another method is `.methodNotAllowed` with the methods that would work.
public struct Router<Handler: Sendable>: Sendable {
    public enum Match {
        case found(Handler, parameters: [String: String])
        case notFound
        case methodNotAllowed(allowed: [String])
    }

    private typealias Segment = RouteSegment

    private struct Route: Sendable {
        var method: String
        var segments: [Segment]
        var handler: Handler
    }

    private var routes: [Route] = []
    /// Paths are served both with this prefix and without it.
    public let optionalPrefix: String?

    public init(optionalPrefix: String? = nil) {
        self.optionalPrefix = optionalPrefix
    }

    /// - Parameter pattern: e.g. `/threads/:thread_id/messages`.
    public mutating func add(_ method: String, _ pattern: String, _ handler: Handler) {
        let segments = pattern.split(separator: "/").map { part -> Segment in
            part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(String(part))
        }
        routes.append(Route(method: method, segments: segments, handler: handler))
    }

    /// The routes whose handler `transform` keeps, as a router of their own: a cheap question
    /// about a few routes (which ones stream their body) need not search them all.
    public func compactMap<Other: Sendable>(_ transform: (Handler) -> Other?) -> Router<Other> {
        var kept = Router<Other>(optionalPrefix: optionalPrefix)
        kept.routes = routes.compactMap { route in
            transform(route.handler).map { Router<Other>.Route(method: route.method, segments: route.segments, handler: $0) }
        }
        return kept
    }

    public func match(method: String, path: Substring) -> Match {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        // A trailing slash names the same resource.
        if parts.count > 1, parts.last == "" { parts = parts.dropLast() }
        if let prefix = optionalPrefix, parts.first.map({ $0 == prefix }) == true {
            parts = parts.dropFirst()
        }
        let requested = Array(parts)
        var allowed: [String] = []
        var best: (route: Route, parameters: [String: String], literals: Int)?
        for route in routes {
            guard let parameters = Self.bind(route.segments, to: requested) else { continue }
            guard route.method == method || (method == "HEAD" && route.method == "GET") else {
                allowed.append(route.method)
                continue
            }
            // `/threads/runs` beats `/threads/:thread_id`: the most literal segments win.
            let literals = route.segments.count - parameters.count
            if best.map({ literals > $0.literals }) ?? true { best = (route, parameters, literals) }
        }
        if let best { return .found(best.route.handler, parameters: best.parameters) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") { allowed.append("HEAD") }
        return .methodNotAllowed(allowed: allowed)
    }

    private static func bind(_ segments: [Segment], to parts: [Substring]) -> [String: String]? {
        guard segments.count == parts.count else { return nil }
        for index in segments.indices {
            if case .literal(let text) = segments[index], parts[index] != text { return nil }
        }
        var parameters: [String: String] = [:]
        for index in segments.indices {
            guard case .parameter(let name) = segments[index] else { continue }
            guard !parts[index].isEmpty else { return nil }
            parameters[name] = PercentDecoding.decode(parts[index])
        }
        return parameters
    }
}

/// One `/`-separated part of a route's pattern: a literal, or a `:parameter`.
private enum RouteSegment: Sendable, Equatable {
    case literal(String)
    case parameter(String)
}
