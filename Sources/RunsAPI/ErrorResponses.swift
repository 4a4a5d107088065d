import HTTPServer
import Logging
import RunsDomain
import RunsEngine
import RunsStorage
import RunsWire

/// The one place that turns failures into responses, always in OpenAI's envelope
/// `{"error":{"message","type","param","code"}}`. Handlers throw; they never build errors.
enum ErrorResponses {
    static func response(for error: any Error, requestID: String, log: Logger) -> HTTPResponse {
        switch error {
        case let error as APIError:
            var response = envelope(status: status(of: error.kind), type: type(of: error.kind), message: error.message,
                                    param: error.param, code: error.code)
            if error.kind == .rateLimited { response.headers.add("retry-after", "1") }
            return response
        case let error as TransitionError:
            return envelope(status: 400, type: "invalid_request_error", message: error.message, param: nil, code: nil)
        case let error as JSONParseError:
            return envelope(status: 400, type: "invalid_request_error",
                            message: "We could not parse the JSON body of your request: \(error.message). The API expects a JSON object.",
                            param: nil, code: "invalid_json")
        case let error as any StorageConditionError where error.condition != nil:
            return storageUnavailable(error, requestID: requestID, log: log)
        default:
            log.error("request \(requestID) failed: \(error)")
            return envelope(status: 500, type: "server_error",
                            message: "The server had an error while processing your request (request id \(requestID)).",
                            param: nil, code: nil)
        }
    }

    /// Answers a handler's result: its JSON, or its error in the envelope.
    static func replier(_ responder: HTTPResponder, log: Logger) -> @Sendable (Result<JSONValue, any Error>) -> Void {
        { result in
            switch result {
            case .success(let body): responder.send(JSONResponse.make(body))
            case .failure(let error): responder.send(response(for: error, requestID: responder.requestID, log: log))
            }
        }
    }

    /// A database that cannot take the request now (busy, out of disk, failing I/O): nothing was
    /// stored, and the client may retry.
    static func storageUnavailable(_ error: any StorageConditionError, requestID: String, log: Logger) -> HTTPResponse {
        let (status, message, code, retryAfter): (Int, String, String?, Int)
        switch error.condition {
        case .full:
            log.error("request \(requestID): the disk is full: \(error)")
            (status, message, code, retryAfter) = (507, "The server's disk is full, so nothing was stored. Reads still work; retry once space has been freed.",
                                                   "insufficient_storage", 5)
        case .unavailable(let text, let seconds)?:
            log.warning("request \(requestID): database unavailable: \(error)")
            (status, message, code, retryAfter) = (503, text, nil, seconds)
        case nil:
            (status, message, code, retryAfter) = (503, "The database is unavailable; retry later.", nil, 5)
        }
        var response = envelope(status: status, type: "server_error", message: message, param: nil, code: code)
        response.headers.add("retry-after", String(retryAfter))
        return response
    }

    static func envelope(status: Int, type: String, message: String, param: String?, code: String?) -> HTTPResponse {
        let body: JSONValue = [
            "error": [
                "message": .string(message),
                "type": .string(type),
                "param": JSONValue(param),
                "code": JSONValue(code),
            ],
        ]
        return JSONResponse.make(status: status, body)
    }

    static func status(of kind: APIError.Kind) -> Int {
        switch kind {
        case .invalidRequest: 400
        case .authentication: 401
        case .notFound: 404
        case .tooLarge: 413
        case .rateLimited: 429
        case .server: 500
        case .unavailable: 503
        }
    }

    static func type(of kind: APIError.Kind) -> String {
        switch kind {
        case .invalidRequest, .notFound, .authentication, .tooLarge: "invalid_request_error"
        case .rateLimited: "rate_limit_exceeded"
        case .server, .unavailable: "server_error"
        }
    }

    /// For errors found before routing (malformed HTTP, limits).
    static func httpLevel(status: Int, message: String) -> HTTPResponse {
        envelope(status: status, type: status >= 500 ? "server_error" : "invalid_request_error",
                 message: message, param: nil, code: nil)
    }
}

enum JSONResponse {
    static func make(status: Int = 200, _ body: JSONValue, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var headers = headers
        headers.add("content-type", "application/json")
        return HTTPResponse(status: status, headers: headers, body: body.serialized())
    }
}
