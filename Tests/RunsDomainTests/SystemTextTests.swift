import Foundation
import Testing
@testable import RunsDomain

/// The small pieces that stand in for Foundation's (which would link CoreFoundation and ICU).
struct SystemTextTests {
    @Test func replacingAllMatchesBytesNotCharacters() {
        #expect("a_b_c".replacingAll("_", with: "") == "abc")
        #expect("it's".replacingAll("'", with: "''") == "it''s")
        // A quote followed by a combining accent is one Character, but its quote is still escaped.
        #expect("x'\u{301}y".replacingAll("'", with: "''") == "x''\u{301}y")
        #expect("\u{FFFF}\u{1}".replacingAll("\u{FFFF}\u{1}", with: "\u{0}") == "\u{0}")
        #expect("abc".replacingAll("", with: "x") == "abc")
        #expect("ab".replacingAll("abc", with: "x") == "ab")
    }

    @Test func trimmingAndPadding() {
        #expect(" \t value \r\n".trimmed == "value")
        #expect("   ".trimmed == "")
        #expect("--port".padded(to: 8) == "--port  ")
        #expect("--a-long-flag".padded(to: 4) == "--a-long-flag")
    }

    @Test func anOpenFileWritesAndReadsBackEveryByte() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-openfile-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try OpenFile.writing(path).write(bytes)
        let file = try OpenFile.reading(path)
        var read: [UInt8] = []
        while case let piece = try file.read(upTo: 4096), !piece.isEmpty { read += piece }
        #expect(read == bytes)
        #expect(throws: SystemError.self) { try OpenFile.reading(path + "-missing") }
    }
}
