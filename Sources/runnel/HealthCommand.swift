import CTLS
import FoundationEssentials
import Glibc
import RunsDomain

/// `runnel health`: exits 0 when the server configured by the same settings answers GET /health
/// with 200. The container's HEALTHCHECK uses it, so the image needs no curl.
enum HealthCommand {
    static func run(arguments: [String]) -> Never {
        let configuration: Configuration
        do {
            configuration = try Configuration.resolve(arguments: arguments, environment: ProcessInfo.processInfo.environment)
        } catch {
            ServeCommand.fail("\(error)")
        }
        var host = configuration.string("host")
        if host == "0.0.0.0" || host.isEmpty { host = "127.0.0.1" }
        if host == "::" { host = "::1" }
        let port = configuration.int("port")
        guard let status = probe(host: host, port: port, tls: !configuration.string("tls_cert").isEmpty) else {
            StandardError.write("runnel: no answer from \(host):\(port)\n")
            exit(1)
        }
        guard status == 200 else {
            StandardError.write("runnel: /health answered \(status)\n")
            exit(1)
        }
        print("ok")
        exit(0)
    }

    /// The status code of `GET /health`, or nil when the server cannot be reached within 5 s.
    static func probe(host: String, port: Int, tls: Bool) -> Int? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let address = list else { return nil }
        defer { freeaddrinfo(list) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else { return nil }
        let request = Array("GET /health HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        var buffer = [UInt8](repeating: 0, count: 512)
        let count: Int
        if tls {
            count = Int(request.withUnsafeBytes { out in
                buffer.withUnsafeMutableBytes { into in
                    runnel_tls_probe(fd, out.baseAddress, Int32(out.count), into.baseAddress, Int32(into.count))
                }
            })
        } else {
            guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
            count = recv(fd, &buffer, buffer.count, 0)
        }
        guard count > 12 else { return nil }
        let line = String(decoding: buffer[0..<count], as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        return parts.count > 1 ? Int(parts[1]) : nil
    }
}
