import Testing
@testable import HTTPServer

struct MultipartCase: CustomTestStringConvertible, Sendable {
    let name: String
    let input: String
    /// Parts as `name|filename|content-type=content`, then `end`, or an error's first words.
    let expected: [String]
    var maxParts = 64

    var testDescription: String { name }
}

/// Parses `input` fed in pieces of `chunk` bytes, with the content of each part joined, so any
/// two ways of cutting the same bytes compare equal.
func parseMultipart(_ input: [UInt8], boundary: String, chunk: Int, maxParts: Int = 64) -> [String] {
    var parser = MultipartParser(boundary: boundary, maxHeaderBytes: 256, maxParts: maxParts)
    var described: [String] = []
    var current: (part: MultipartPart, content: [UInt8])?
    var events: [MultipartEvent] = []
    var offset = 0
    repeat {
        let end = min(input.count, offset + chunk)
        events += parser.feed(input[offset..<end])
        offset = end
    } while offset < input.count
    if let last = parser.finish() { events.append(last) }
    for event in events {
        switch event {
        case .partStarted(let part): current = (part, [])
        case .data(let bytes): current?.content += bytes
        case .partEnded:
            if let (part, content) = current {
                described.append("\(part.name)|\(part.filename ?? "-")|\(part.contentType ?? "-")=\(String(decoding: content, as: UTF8.self))")
            }
            current = nil
        case .finished: described.append("end")
        case .failed(let error): described.append("error: \(error.message.split(separator: " ").prefix(4).joined(separator: " "))")
        }
    }
    return described
}

struct MultipartParserTests {
    static let boundary = "XyZ-123"

    static let cases: [MultipartCase] = [
        MultipartCase(name: "a field and a file", input: "--XyZ-123\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants\r\n--XyZ-123\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\n--XyZ-123--\r\n",
                      expected: ["purpose|-|-=assistants", "file|notes.txt|text/plain=line one\r\nline two", "end"]),
        MultipartCase(name: "preamble, padding after the boundary, epilogue", input: "ignored preamble\r\n--XyZ-123  \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ-123--epilogue --XyZ-123 ignored",
                      expected: ["a|-|-=1", "end"]),
        MultipartCase(name: "content that almost holds the boundary", input: "--XyZ-123\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n\r\n--XyZ-12\r\n-XyZ-123\r--XyZ-123\r\n--XyZ-123--",
                      expected: ["f|-|-=\r\n--XyZ-12\r\n-XyZ-123\r--XyZ-123", "end"]),
        MultipartCase(name: "an empty part and empty content", input: "--XyZ-123\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n\r\n--XyZ-123--",
                      expected: ["e|-|-=", "end"]),
        MultipartCase(name: "quoted names with escapes and semicolons", input: "--XyZ-123\r\ncontent-disposition: FORM-DATA; name=\"a;b\\\"c\"; filename=\"x; y.txt\"\r\n\r\nv\r\n--XyZ-123--",
                      expected: ["a;b\"c|x; y.txt|-=v", "end"]),
        MultipartCase(name: "filename* wins over filename", input: "--XyZ-123\r\nContent-Disposition: form-data; name=\"file\"; filename=\"fallback.txt\"; filename*=UTF-8''%E2%82%AC%20rates.csv\r\n\r\nv\r\n--XyZ-123--",
                      expected: ["file|€ rates.csv|-=v", "end"]),
        MultipartCase(name: "a malformed filename* falls back", input: "--XyZ-123\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plain.txt\"; filename*=UTF-8''%E2%8\r\n\r\nv\r\n--XyZ-123--",
                      expected: ["file|plain.txt|-=v", "end"]),
        MultipartCase(name: "no closing boundary", input: "--XyZ-123\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\ncut off",
                      expected: ["error: The multipart body ended"]),
        MultipartCase(name: "no boundary at all", input: "just some bytes", expected: ["error: The multipart body ended"]),
        // Found by the fuzzer: headers whose end comes two bytes past the size limit's last
        // chance were called too large when split, malformed when whole.
        MultipartCase(name: "padding past its limit is refused even when the line ends right after it",
                      input: "--XyZ-123" + String(repeating: " ", count: 300) + "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ-123--",
                      expected: ["error: A multipart boundary line"]),
        MultipartCase(name: "headers ending just within the limit are judged by their content",
                      input: "--XyZ-123\r\nContent-Disposition: form-data; name=a\r\n" + String(repeating: "x", count: 214) + "\r\n\r\nv\r\n--XyZ-123--",
                      expected: ["error: A multipart part has"]),
        MultipartCase(name: "a part without a disposition", input: "--XyZ-123\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ-123--",
                      expected: ["error: A multipart part has"]),
        MultipartCase(name: "a disposition without a name", input: "--XyZ-123\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nv\r\n--XyZ-123--",
                      expected: ["error: Each multipart part needs"]),
        MultipartCase(name: "a header line without a colon", input: "--XyZ-123\r\nContent-Disposition: form-data; name=a\r\nnonsense\r\n\r\nv\r\n--XyZ-123--",
                      expected: ["error: A multipart part has"]),
        MultipartCase(name: "garbage after a boundary", input: "--XyZ-123x\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ-123--",
                      expected: ["error: A multipart boundary must"]),
        MultipartCase(name: "headers past the limit", input: "--XyZ-123\r\nContent-Disposition: form-data; name=a\r\nX-Long: " + String(repeating: "x", count: 300) + "\r\n\r\nv\r\n--XyZ-123--",
                      expected: ["error: A multipart part's headers"]),
        MultipartCase(name: "too many parts", input: String(repeating: "--XyZ-123\r\nContent-Disposition: form-data; name=p\r\n\r\nv\r\n", count: 3) + "--XyZ-123--",
                      expected: ["p|-|-=v", "p|-|-=v", "error: The multipart body has"], maxParts: 2),
    ]

    @Test(arguments: cases)
    func parsesWhole(_ test: MultipartCase) {
        #expect(parseMultipart(Array(test.input.utf8), boundary: Self.boundary, chunk: Int.max / 2, maxParts: test.maxParts) == test.expected)
    }

    @Test(arguments: cases)
    func parsesOneByteAtATime(_ test: MultipartCase) {
        #expect(parseMultipart(Array(test.input.utf8), boundary: Self.boundary, chunk: 1, maxParts: test.maxParts) == test.expected)
    }

    /// A large file arrives in pieces no larger than what was fed: nothing is held back but a
    /// boundary's length.
    @Test func contentIsHandedOnAsItArrives() {
        var parser = MultipartParser(boundary: Self.boundary)
        _ = parser.feed(Array("--XyZ-123\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big\"\r\n\r\n".utf8))
        var held = 0
        for _ in 0..<1000 {
            let events = parser.feed([UInt8](repeating: 65, count: 4096))
            let handed = events.reduce(0) { total, event in
                if case .data(let bytes) = event { return total + bytes.count }
                return total
            }
            held += 4096 - handed
            #expect(held < 4096 + 16)
        }
    }

    @Test func theBoundaryComesFromTheContentType() throws {
        #expect(try MultipartParser.boundary(contentType: "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW") == "----WebKitFormBoundary7MA4YWxkTrZu0gW")
        #expect(try MultipartParser.boundary(contentType: "Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"") == "a b:c")
        #expect(throws: MultipartError.self) { try MultipartParser.boundary(contentType: "application/json") }
        #expect(throws: MultipartError.self) { try MultipartParser.boundary(contentType: "multipart/form-data") }
        #expect(throws: MultipartError.self) { try MultipartParser.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "a", count: 71)) }
        #expect(throws: MultipartError.self) { try MultipartParser.boundary(contentType: "multipart/form-data; boundary=a\u{1}b") }
        #expect(throws: MultipartError.self) { try MultipartParser.boundary(contentType: nil) }
    }
}
