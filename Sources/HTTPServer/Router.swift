/// Matches `METHOD /path/:param` routes. A path that matches no route is `.notFound`; a path that
/// matches under another method is `.methodNotAllowed` with the methods that would work.
///
/// Every request is matched (and every request head, to learn whether its body streams), so the
/// path is compared as bytes, cut at its slashes in place: only the parameters of the route that
/// matched become strings.
public struct Router<Handler: Sendable>: Sendable {
    public enum Match {
        /// `template` is the route's pattern in OpenAPI form, with the optional prefix when the
        /// path had it, e.g. `/v1/threads/{thread_id}`: a label for logs and metrics without ids.
        case found(Handler, parameters: [String: String], template: String)
        case notFound
        case methodNotAllowed(allowed: [String])
    }

    private struct Route: Sendable {
        var method: String
        var segments: [RouteSegment]
        var handler: Handler
        var literalCount: Int
        /// Without the optional prefix, and with it.
        var template: (bare: String, prefixed: String)
    }

    /// More segments than any route has: such a path matches nothing.
    private static var maxSegments: Int { 16 }

    private var routes: [Route] = [] {
        didSet { byCount = Self.index(routes) }
    }
    /// Routes by their number of segments: a path is only compared with routes of its length.
    private var byCount: [[Int]] = Array(repeating: [], count: maxSegments + 1)
    private var prefixBytes: [UInt8]?
    /// Paths are served both with this prefix and without it.
    public let optionalPrefix: String?

    public init(optionalPrefix: String? = nil) {
        self.optionalPrefix = optionalPrefix
        prefixBytes = optionalPrefix.map { Array($0.utf8) }
    }

    /// - Parameter pattern: e.g. `/threads/:thread_id/messages`.
    public mutating func add(_ method: String, _ pattern: String, _ handler: Handler) {
        let segments = pattern.split(separator: "/").map { part -> RouteSegment in
            part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(Array(part.utf8))
        }
        precondition(segments.count <= Self.maxSegments, "route \(pattern) has too many segments")
        let literals = segments.count { if case .literal = $0 { true } else { false } }
        let bare = "/" + segments.map { segment in
            switch segment {
            case .literal(let bytes): String(decoding: bytes, as: UTF8.self)
            case .parameter(let name): "{\(name)}"
            }
        }.joined(separator: "/")
        let template = (bare, optionalPrefix.map { "/" + $0 + bare } ?? bare)
        routes.append(Route(method: method, segments: segments, handler: handler, literalCount: literals, template: template))
    }

    /// The routes whose handler `transform` keeps, as a router of their own: a cheap question
    /// about a few routes (which ones stream their body) need not search them all.
    public func compactMap<Other: Sendable>(_ transform: (Handler) -> Other?) -> Router<Other> {
        var kept = Router<Other>(optionalPrefix: optionalPrefix)
        kept.routes = routes.compactMap { route in
            transform(route.handler).map {
                Router<Other>.Route(method: route.method, segments: route.segments, handler: $0, literalCount: route.literalCount,
                                    template: route.template)
            }
        }
        return kept
    }

    public func match(method: String, path: Substring) -> Match {
        var path = path
        return path.withUTF8 { bytes in
            withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: Self.maxSegments + 2) { cuts in
                guard let count = Self.cut(bytes, into: cuts) else { return .notFound }
                var parts = UnsafeMutableBufferPointer(rebasing: cuts[0..<count])
                var prefixed = false
                if let prefix = prefixBytes, let first = parts.first, Self.equal(bytes, first, prefix) {
                    parts = UnsafeMutableBufferPointer(rebasing: parts.dropFirst())
                    prefixed = true
                }
                return match(method: method, bytes: bytes, parts: UnsafeBufferPointer(parts), prefixed: prefixed)
            }
        }
    }

    private func match(method: String, bytes: UnsafeBufferPointer<UInt8>, parts: UnsafeBufferPointer<Range<Int>>,
                       prefixed: Bool) -> Match {
        var allowed: [String] = []
        var best: Route?
        guard parts.count < byCount.count else { return .notFound }
        for index in byCount[parts.count] where Self.fits(routes[index].segments, bytes, parts) {
            let route = routes[index]
            guard route.method == method || (method == "HEAD" && route.method == "GET") else {
                allowed.append(route.method)
                continue
            }
            // `/threads/runs` beats `/threads/:thread_id`: the most literal segments win.
            if best.map({ route.literalCount > $0.literalCount }) ?? true { best = route }
        }
        if let best {
            return .found(best.handler, parameters: Self.parameters(of: best.segments, bytes, parts), template: prefixed ? best.template.prefixed : best.template.bare)
        }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") { allowed.append("HEAD") }
        return .methodNotAllowed(allowed: allowed)
    }

    private static func index(_ routes: [Route]) -> [[Int]] {
        var byCount: [[Int]] = Array(repeating: [], count: maxSegments + 1)
        for (index, route) in routes.enumerated() { byCount[route.segments.count].append(index) }
        return byCount
    }

    /// The `/`-separated parts after the first slash, as byte ranges; a trailing slash names the
    /// same resource. Nil when there are more parts than any route could have.
    private static func cut(_ bytes: UnsafeBufferPointer<UInt8>, into cuts: UnsafeMutableBufferPointer<Range<Int>>) -> Int? {
        var count = 0
        var start: Int?
        for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: "/") {
            // What precedes the first slash is not a part (as with a leading slash, it is empty).
            if let start {
                guard count < cuts.count else { return nil }
                cuts[count] = start..<index
                count += 1
            }
            start = index + 1
        }
        if count > 1, cuts[count - 1].isEmpty { count -= 1 }
        return count
    }

    private static func fits(_ segments: [RouteSegment], _ bytes: UnsafeBufferPointer<UInt8>, _ parts: UnsafeBufferPointer<Range<Int>>) -> Bool {
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text): if !equal(bytes, part, text) { return false }
            case .parameter: if part.isEmpty { return false }
            }
        }
        return true
    }

    private static func parameters(of segments: [RouteSegment], _ bytes: UnsafeBufferPointer<UInt8>,
                                   _ parts: UnsafeBufferPointer<Range<Int>>) -> [String: String] {
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            guard case .parameter(let name) = segment else { continue }
            parameters[name] = PercentDecoding.decode(String(decoding: UnsafeBufferPointer(rebasing: bytes[part]), as: UTF8.self)[...])
        }
        return parameters
    }

    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ part: Range<Int>, _ text: [UInt8]) -> Bool {
        part.count == text.count && UnsafeBufferPointer(rebasing: bytes[part]).elementsEqual(text)
    }
}

/// One `/`-separated part of a route's pattern: a literal (its bytes), or a `:parameter`.
private enum RouteSegment: Sendable, Equatable {
    case literal([UInt8])
    case parameter(String)
}
