import Foundation
import Testing
@testable import RunsDomain

/// Input built to cost the server: it must be answered in linear time and never stored in a
/// shape the schema forbids.
struct HostileInputTests {
    func error(_ body: () throws -> Void) -> APIError? {
        do { try body() } catch { return error as? APIError }
        return nil
    }

    /// A scan per key made this 20 s; hashing makes it a few milliseconds (measured, not asserted).
    @Test func aHundredThousandKeysParseInLinearTime() throws {
        let keys = (0..<100_000).map { "\"key\($0)\":\"v\"" }.joined(separator: ",")
        let text = "{\"model\":\"gpt-4o\",\"metadata\":{\(keys)}}"
        let value = try JSONValue.parse(text)
        guard case .object(let pairs)? = value["metadata"] else { Issue.record("no metadata"); return }
        #expect(pairs.count == 100_000)
        #expect(error { _ = try Validate.metadata(.value(value["metadata"]!)) }?.code == "object_above_max_properties")
    }

    @Test func aLaterDuplicateReplacesTheEarlierValueInSmallAndLargeObjects() throws {
        #expect(try JSONValue.parse(#"{"a":1,"b":2,"a":3}"#) == ["a": 3, "b": 2])
        let large = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let value = try JSONValue.parse("{\(large),\"k3\":\"again\",\"k39\":null}")
        guard case .object(let pairs) = value else { Issue.record("not an object"); return }
        #expect(pairs.count == 40 && value["k3"] == "again" && value["k39"] == .null && value["k38"] == 38)
    }

    static let nestedNulls: [(String, JSONValue, String)] = [
        ("tool_resources", ["code_interpreter": nil], "tool_resources.code_interpreter"),
        ("tool_resources", ["code_interpreter": ["file_ids": nil]], "tool_resources.code_interpreter.file_ids"),
        ("tool_resources", ["file_search": nil], "tool_resources.file_search"),
        ("tool_resources", ["file_search": ["vector_store_ids": nil]], "tool_resources.file_search.vector_store_ids"),
        ("tools", [["type": "file_search", "file_search": nil]], "tools[0].file_search"),
        ("tools", [["type": "file_search", "file_search": ["max_num_results": nil]]], "tools[0].file_search.max_num_results"),
        ("tools", [["type": "function", "function": ["name": "f", "description": nil]]], "tools[0].function.description"),
        ("tools", [["type": "function", "function": ["name": "f", "parameters": nil]]], "tools[0].function.parameters"),
        ("response_format", ["type": "json_schema", "json_schema": ["name": "n", "description": nil]], "response_format.json_schema.description"),
        ("response_format", ["type": "json_schema", "json_schema": ["name": "n", "schema": 0]], "response_format.json_schema.schema"),
        ("response_format", ["type": "json_schema", "json_schema": ["name": "n", "schema": "x"]], "response_format.json_schema.schema"),
        ("response_format", ["type": "json_schema", "json_schema": ["name": "n", "schema": false]], "response_format.json_schema.schema"),
    ]

    @Test(arguments: nestedNulls)
    func aNullOrWrongTypeTheSchemaForbidsIsRefusedWithItsPath(_ field: String, _ value: JSONValue, _ param: String) {
        let failure = error {
            switch field {
            case "tools": _ = try Validate.tools(.value(value.arrayValue ?? []))
            case "tool_resources": _ = try Validate.toolResources(.value(value), allowVectorStores: true)
            default: _ = try Validate.responseFormat(.value(value))
            }
        }
        #expect(failure?.param == param && failure?.code == "invalid_type", "\(String(describing: failure))")
    }

    @Test func nullableNestedFieldsStayAccepted() {
        let strict: JSONValue = ["type": "json_schema", "json_schema": ["name": "n", "strict": nil, "schema": ["type": "object"]]]
        #expect(error { _ = try Validate.responseFormat(.value(strict)) } == nil)
        let function: JSONValue = ["type": "function", "function": ["name": "f", "strict": nil]]
        #expect(error { _ = try Validate.tools(.value([function])) } == nil)
    }

    @Test func rankingOptionsGetTheirDocumentedDefaults() throws {
        let tools = try Validate.tools(.value([["type": "file_search", "file_search": ["ranking_options": ["ranker": "auto"]]]]))
        #expect(tools?.first?["file_search"]?["ranking_options"] == ["ranker": "auto", "score_threshold": 0])
        let bare = try Validate.tools(.value([["type": "file_search", "file_search": ["ranking_options": [:]]]]))
        #expect(bare?.first?["file_search"]?["ranking_options"] == ["ranker": "auto", "score_threshold": 0])
    }

    @Test func identifiersAreOnlyLettersDigitsUnderscoresAndDashes() {
        #expect(Validate.isIdentifier("thread_0Ab-9"))
        for bad in ["", "thread_abc\u{0}garbage", "a b", "é", "a/b", "a%00", String(repeating: "a", count: 65)] {
            #expect(!Validate.isIdentifier(bad), "\(bad)")
        }
    }
}
