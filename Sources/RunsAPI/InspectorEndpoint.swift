import HTTPServer

/// `GET /ui`: the run inspector, a static page compiled into the binary. It holds no data and
/// needs no key itself: the page asks for one and calls `/v1` with it like any client.
enum InspectorEndpoint {
    static func register(in router: inout Router<Route>) {
        for file in embeddedInspectorFiles {
            let response = Self.response(file.name, file.text)
            router.add("GET", "/ui/" + file.name, .open { _ in response })
            if file.name == "index.html" { router.add("GET", "/ui", .open { _ in response }) }
        }
    }

    /// The page may load and call only its own server: a message a model wrote can never pull
    /// in a script or send data elsewhere.
    static let securityHeaders = [
        ("content-security-policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-cache"),
    ]

    private static func response(_ name: String, _ text: String) -> HTTPResponse {
        var headers = HTTPHeaders()
        let type = switch name.split(separator: ".").last {
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        default: "text/html; charset=utf-8"
        }
        headers.add("content-type", type)
        for (name, value) in securityHeaders { headers.add(name, value) }
        return HTTPResponse(status: 200, headers: headers, body: Array(text.utf8))
    }
}
