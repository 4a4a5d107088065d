import Testing
@testable import ModelBackends

struct UpstreamSSEDecoderTests {
    static let streams: [String] = [
        "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n",
        "event: x\r\ndata: one\r\ndata: two\r\n\r\n: comment\r\n\r\ndata:[DONE]\r\n\r\n",
        "data: cr\r\rdata: only\r\r",
        "id: 7\nretry: 10\ndata: with fields\n\ndata\n\n",
    ]

    static let expected: [[UpstreamSSEDecoder.Event]] = [
        [.init(name: nil, data: "{\"a\":1}"), .init(name: nil, data: "{\"b\":2}")],
        [.init(name: "x", data: "one\ntwo"), .init(name: nil, data: "[DONE]")],
        [.init(name: nil, data: "cr"), .init(name: nil, data: "only")],
        [.init(name: nil, data: "with fields"), .init(name: nil, data: "")],
    ]

    @Test(arguments: zip(streams, expected))
    func wholeAndByteByByteAgree(_ stream: String, _ expected: [UpstreamSSEDecoder.Event]) throws {
        var whole = UpstreamSSEDecoder()
        #expect(try whole.feed(Array(stream.utf8)) == expected)
        var bytewise = UpstreamSSEDecoder()
        var events: [UpstreamSSEDecoder.Event] = []
        for byte in stream.utf8 { events += try bytewise.feed([byte]) }
        #expect(events == expected)
    }

    @Test func anEndlessLineIsAFaultNotAnAllocation() throws {
        var decoder = UpstreamSSEDecoder(maxLineBytes: 1024)
        let piece = [UInt8](repeating: UInt8(ascii: "x"), count: 512)
        _ = try decoder.feed(Array("data: ".utf8))
        #expect(throws: UpstreamSSEDecoder.Fault.self) {
            for _ in 0..<8 { _ = try decoder.feed(piece) }
        }
    }

    @Test func anEventOfManyLinesIsBoundedToo() throws {
        var decoder = UpstreamSSEDecoder(maxLineBytes: 1024, maxEventBytes: 4096)
        let line = Array(("data: " + String(repeating: "y", count: 900) + "\n").utf8)
        #expect(throws: UpstreamSSEDecoder.Fault.self) {
            for _ in 0..<8 { _ = try decoder.feed(line) }
        }
    }

    @Test func bytesThatAreNotUTF8AreAFault() throws {
        var decoder = UpstreamSSEDecoder()
        #expect(throws: UpstreamSSEDecoder.Fault.self) {
            _ = try decoder.feed(Array("data: {\"a\": \"".utf8) + [0xFF, 0xFE] + Array("\"}\n\n".utf8))
        }
    }
}

