import Testing
@testable import RunsEngine

struct CodeArgumentStreamTests {
    static func streamed(_ arguments: String, size: Int) -> [String] {
        var stream = CodeArgumentStream()
        var pieces: [String] = []
        var rest = Substring(arguments)
        while !rest.isEmpty {
            pieces.append(stream.feed(String(rest.prefix(size))))
            rest = rest.dropFirst(size)
        }
        return pieces
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func theCodeComesOutWholeWhereverTheArgumentsAreCut(size: Int) {
        let code = "print(\"héllo\\n\")\n\tx = '😀' + \"\\u00e9\" # \u{1F600}"
        let arguments = "{ \"note\": \"a \\\"code\\\" here\", \"code\" :\n \(String(decoding: JSONString.encode(code), as: UTF8.self)) }"
        #expect(Self.streamed(arguments, size: size).joined() == code)
    }

    @Test func nothingComesBeforeTheCodeKeyOrAfterItsValue() {
        #expect(Self.streamed("{\"language\": \"python\"}", size: 4).joined() == "")
        #expect(Self.streamed("{\"code\": \"a\", \"other\": \"b\"}", size: 3).joined() == "a")
        #expect(Self.streamed("{\"code\": 5}", size: 3).joined() == "")
        // The word as a value first, then as the key.
        #expect(Self.streamed("{\"kind\": \"code\", \"code\": \"x = 1\"}", size: 2).joined() == "x = 1")
    }
}

/// JSON string literal for a test value, escaping what JSON must and a few it may.
enum JSONString {
    static func encode(_ text: String) -> [UInt8] {
        var out: [UInt8] = [34]
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += Array("\\\"".utf8)
            case "\\": out += Array("\\\\".utf8)
            case "\n": out += Array("\\n".utf8)
            case "\t": out += Array("\\t".utf8)
            case "\u{1F600}": out += Array("\\ud83d\\ude00".utf8)
            default: out += Array(String(scalar).utf8)
            }
        }
        return out + [34]
    }
}
