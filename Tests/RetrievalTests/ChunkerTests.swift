import Testing
import RunsDomain
import RunsStorage
@testable import Retrieval

struct ChunkerTests {
    static func chunks(_ text: String, size: Int, overlap: Int, feedSize: Int) -> [Chunk] {
        var chunker = Chunker(ChunkingStrategy(maxTokens: size, overlapTokens: overlap))
        var chunks: [Chunk] = []
        for piece in pieces(text, size: feedSize) { chunker.feed(piece, into: &chunks) }
        chunker.finish(into: &chunks)
        return chunks
    }

    @Test(arguments: [1, 3, 7, 1000])
    func chunksOverlapByTheGivenWordsWhereverTheInputIsSplit(feedSize: Int) {
        let words = (0..<25).map { "w\($0)é" }
        let chunks = Self.chunks(" " + words.joined(separator: " \n") + "  ", size: 10, overlap: 4, feedSize: feedSize)
        #expect(chunks.map { TokenCount.words($0.text) } == [10, 10, 10, 7])
        #expect(chunks[0].text.hasPrefix("w0é"))
        #expect(chunks[1].text.hasPrefix("w6é"))
        #expect(chunks.map(\.seq) == [0, 1, 2, 3])
        // The fresh parts, joined, give every word once.
        let fresh = chunks.map { String(decoding: Array($0.text.utf8)[$0.freshFrom...], as: UTF8.self) }.joined(separator: " ")
        #expect(fresh.split(whereSeparator: \.isWhitespace).map(String.init) == words)
    }

    @Test func aTextThatEndsWithAFullChunkHasNoEmptyTail() {
        let chunks = Self.chunks("a b c d", size: 4, overlap: 2, feedSize: 2)
        #expect(chunks.map(\.text) == ["a b c d"])
    }

    @Test func anEndlessWordIsCut() {
        let chunks = Self.chunks(String(repeating: "x", count: 1000), size: 2, overlap: 0, feedSize: 64)
        #expect(chunks.allSatisfy { $0.text.utf8.count <= 2 * Chunker.maxWordBytes })
        #expect(chunks.map(\.text).joined() == String(repeating: "x", count: 1000))
    }

    @Test func emptyTextHasNoChunks() {
        #expect(Self.chunks(" \n\t ", size: 100, overlap: 0, feedSize: 1).isEmpty)
    }
}

struct HTMLStripperTests {
    static func strip(_ html: String, feedSize: Int) -> String {
        var stripper = HTMLStripper()
        var out: [UInt8] = []
        for piece in pieces(html, size: feedSize) { stripper.feed(piece, into: &out) }
        return String(decoding: out, as: UTF8.self).split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    @Test(arguments: [1, 5, 1000])
    func keepsTheTextOnly(feedSize: Int) {
        let html = "<html><head><STYLE>p{x:1}</style><script type=x>var a = '<b>';</SCRIPT></head><body><p>Fish&amp;chips &lt;3</p>caf&#233; &#x263A;<br/>end &bogus; &</body></html>"
        #expect(Self.strip(html, feedSize: feedSize) == "Fish&chips <3 café ☺ end &bogus; &")
    }
}

/// The text's bytes cut into pieces of `size`, as a stream would deliver them.
func pieces(_ text: String, size: Int) -> [ArraySlice<UInt8>] {
    let bytes = Array(text.utf8)
    return stride(from: 0, to: bytes.count, by: size).map { bytes[$0..<min(bytes.count, $0 + size)] }
}

enum TokenCount {
    static func words(_ text: String) -> Int { text.split(whereSeparator: { $0 == " " || $0 == "\n" }).count }
}

struct SearchTermsTests {
    @Test func wordsAreLetterAndDigitRunsLowercasedOnce() {
        #expect(FileSearch.terms("Café-au-LAIT, 42 naïve ÉCOLE au x_y café") == ["café", "au", "lait", "42", "naïve", "école", "x", "y"])
        #expect(FileSearch.terms(String(repeating: "w ", count: 10) + (0..<100).map { "t\($0)" }.joined(separator: " ")).count
                == FileSearch.maxTerms)
    }
}
