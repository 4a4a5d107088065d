import Testing
@testable import RunsDomain

struct ObjectIDTests {
    @Test func idsArePrefixedUniqueAndOrderedWithinOneMillisecond() {
        let generator = ObjectIDGenerator(clock: ManualClock())
        let ids = (0..<2000).map { _ in generator.id(.message) }
        #expect(ids.allSatisfy { $0.hasPrefix("msg_") && $0.count == 28 })
        #expect(Set(ids).count == ids.count)
        #expect(ids == ids.sorted())
    }

    @Test func createdAtMatchesTheClock() {
        let clock = ManualClock(milliseconds: 1_700_000_123_456)
        let (_, createdAt) = ObjectIDGenerator(clock: clock).make(.thread)
        #expect(createdAt == 1_700_000_123)
    }
}

struct JSONTests {
    @Test(arguments: [
        "{}", "[]", "null", "true", "-0.5e3", "\"a\\u00e9\\ud83d\\ude00\\n\"", "{\"a\":[1,2,{\"b\":null}],\"c\":\"/\"}", "12345678901234",
    ])
    func roundTrips(_ text: String) throws {
        let value = try JSONValue.parse(text)
        #expect(try JSONValue.parse(value.jsonText) == value)
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,]", "01", "\"\\x\"", "\"\u{1}\"", "tru", "{\"a\":1}x", "\"\\ud800\"", "1e999"])
    func rejectsInvalid(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func deepNestingIsRejectedNotCrashed() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func keepsKeyOrderAndExplicitNull() throws {
        let value: JSONValue = ["z": 1, "a": nil, "s": "a/b\"c"]
        #expect(value.jsonText == #"{"z":1,"a":null,"s":"a/b\"c"}"#)
    }
}

struct ValidationTests {
    func error(_ body: () throws -> Void) -> APIError? {
        do { try body() } catch { return error as? APIError }
        return nil
    }

    @Test func metadataLimits() {
        let many = JSONValue.object((0..<17).map { ("k\($0)", .string("v")) })
        #expect(error { _ = try Validate.metadata(.value(many)) }?.code == "object_above_max_properties")
        let longKey = JSONValue.object([(String(repeating: "k", count: 65), "v")])
        #expect(error { _ = try Validate.metadata(.value(longKey)) }?.code == "string_above_max_length")
        let longValue: JSONValue = ["actual": .string(String(repeating: "v", count: 513))]
        let valueError = error { _ = try Validate.metadata(.value(longValue)) }
        #expect(valueError?.param == "metadata.actual")
        #expect(valueError?.code == "string_above_max_length")
        #expect(error { _ = try Validate.metadata(.value(["a": 1])) }?.code == "invalid_type")
        #expect(error { _ = try Validate.metadata(.value(JSONValue.object((0..<16).map { ("k\($0)", .string("v")) }))) } == nil)
    }

    @Test func functionToolNames() {
        let good: JSONValue = ["type": "function", "function": ["name": "get_weather-2", "parameters": ["type": "object"]]]
        #expect(error { _ = try Validate.tools(.value([good])) } == nil)
        let bad: JSONValue = ["type": "function", "function": ["name": "get weather"]]
        #expect(error { _ = try Validate.tools(.value([bad])) }?.param == "tools[0].function.name")
        let unknown: JSONValue = ["type": "function", "function": ["name": "f", "colour": "red"]]
        #expect(error { _ = try Validate.tools(.value([unknown])) }?.code == "unknown_parameter")
        let wrongType: JSONValue = ["type": "browser"]
        #expect(error { _ = try Validate.tools(.value([wrongType])) }?.param == "tools[0].type")
    }

    @Test func numberRanges() throws {
        let body = try RequestObject(["temperature": 2.5, "top_p": -1], allowed: ["temperature", "top_p"])
        #expect(error { _ = try body.number("temperature", in: 0...2) }?.code == "decimal_above_max_value")
        #expect(error { _ = try body.number("top_p", in: 0...1) }?.code == "decimal_below_min_value")
    }

    @Test func messageInput() throws {
        let message = try MessageInput(["role": "user", "content": [["type": "text", "text": "hi"]]])
        #expect(message.content == [MessageInput.textPart("hi")])
        #expect(error { _ = try MessageInput(["role": "system", "content": "x"]) }?.param == "role")
        #expect(error { _ = try MessageInput(["role": "user", "content": []]) }?.param == "content")
        #expect(error { _ = try MessageInput(["role": "user"]) }?.code == "missing_required_parameter")
        #expect(error { _ = try MessageInput(["role": "user", "content": [["type": "text"]]]) }?.param == "content[0].text")
    }
}
