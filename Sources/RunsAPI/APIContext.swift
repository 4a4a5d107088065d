import HTTPServer
import RunsDomain
import RunsEngine
import RunsWire

/// Everything a handler needs about one request, already authenticated.
public struct APIContext: Sendable {
    public let request: HTTPRequest
    public let parameters: [String: String]
    public let project: String
    public let services: Services
    /// A large body parsed before the handler reached the writer's queue, so its parsing does
    /// not hold up every other write.
    var parsedBody: Result<JSONValue, any Error>?

    init(request: HTTPRequest, parameters: [String: String], project: String, services: Services) {
        self.request = request
        self.parameters = parameters
        self.project = project
        self.services = services
    }

    public func parameter(_ name: String) -> String { parameters[name] ?? "" }

    /// The JSON body as an object; an empty body (e.g. `POST …/cancel`) reads as `{}`.
    public func body() throws -> JSONValue {
        if let parsedBody { return try parsedBody.get() }
        return try Self.parse(request.body)
    }

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        if bytes.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) { return [:] }
        let value = try JSONValue.parse(bytes)
        guard case .object = value else {
            throw APIError.invalid("The request body must be a JSON object, but got \(value.typeName).", code: "invalid_type")
        }
        return value
    }

    public func query(_ name: String) -> String? {
        request.queryItems.last { $0.name == name }?.value
    }

    /// `limit` (1…100, default 20, or as the endpoint says), `order` (default desc), `after`, `before`.
    public func listQuery(maxLimit: Int = 100, defaultLimit: Int = 20) throws(APIError) -> ListQuery {
        var query = ListQuery(limit: defaultLimit)
        if let limit = self.query("limit") {
            guard let value = Int(limit) else {
                throw .invalid("Invalid 'limit': expected an integer, but got '\(limit)' instead.", param: "limit", code: "invalid_type")
            }
            guard (1...maxLimit).contains(value) else {
                throw .invalid("Invalid 'limit': \(value). Limit can range between 1 and \(maxLimit).", param: "limit", code: "invalid_value")
            }
            query.limit = value
        }
        if let order = self.query("order") {
            guard let parsed = ListQuery.Order(rawValue: order) else {
                try Validate.oneOf(order, ["asc", "desc"], param: "order")
                throw APIError.invalid("Invalid 'order'.", param: "order")
            }
            query.order = parsed
        }
        query.after = self.query("after").flatMap { $0.isEmpty ? nil : $0 }
        query.before = self.query("before").flatMap { $0.isEmpty ? nil : $0 }
        return query
    }
}

/// What handlers share: id generation and time.
public struct Services: Sendable {
    public let ids: ObjectIDGenerator
    public let clock: any Clock

    public init(ids: ObjectIDGenerator, clock: any Clock) {
        self.ids = ids
        self.clock = clock
    }
}
