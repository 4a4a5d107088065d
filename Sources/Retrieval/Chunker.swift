import RunsDomain
import RunsStorage

/// Cuts a stream of text into chunks of at most `maxTokens` words, each starting `overlap` words
/// before the previous one ended. A token is a run of bytes between ASCII whitespace, the rule
/// the echo model and the prompt estimate use; since no UTF-8 sequence holds an ASCII byte, cuts
/// always fall between characters, wherever the input was split.
public struct Chunker {
    /// A "word" longer than this (base64, a minified file) is cut, so a chunk stays bounded.
    public static let maxWordBytes = 256

    let maxTokens: Int
    let overlap: Int
    private var buffer: [UInt8] = []
    /// The position in the whole text of `buffer[0]`.
    private var base = 0
    /// Words of the chunk being gathered, as positions in the whole text.
    private var words: [(start: Int, end: Int)] = []
    private var wordStart: Int?
    private var emittedEnd = 0
    private var seq = 0

    public init(_ strategy: ChunkingStrategy) {
        maxTokens = max(1, strategy.maxTokens)
        overlap = min(max(0, strategy.overlapTokens), max(0, strategy.maxTokens - 1))
    }

    public mutating func feed(_ bytes: some Collection<UInt8>, into chunks: inout [Chunk]) {
        buffer.reserveCapacity(buffer.count + bytes.count)
        for byte in bytes {
            let position = base + buffer.count
            buffer.append(byte)
            let space = byte == 32 || (byte >= 9 && byte <= 13)
            if space {
                if let start = wordStart {
                    wordStart = nil
                    endWord(start, position, into: &chunks)
                }
            } else if let start = wordStart {
                if position + 1 - start >= Self.maxWordBytes {
                    wordStart = nil
                    endWord(start, position + 1, into: &chunks)
                }
            } else {
                wordStart = position
            }
        }
    }

    /// The last chunk, unless the previous one already ended with the text.
    public mutating func finish(into chunks: inout [Chunk]) {
        if let start = wordStart {
            wordStart = nil
            words.append((start, base + buffer.count))
        }
        if let last = words.last, last.end > emittedEnd { emit(into: &chunks) }
    }

    private mutating func endWord(_ start: Int, _ end: Int, into chunks: inout [Chunk]) {
        words.append((start, end))
        if words.count == maxTokens { emit(into: &chunks) }
    }

    private mutating func emit(into chunks: inout [Chunk]) {
        let first = words[0].start, last = words[words.count - 1].end
        let text = String(decoding: buffer[(first - base)..<(last - base)], as: UTF8.self)
        chunks.append(Chunk(seq: seq, text: text, freshFrom: max(0, emittedEnd - first)))
        seq += 1
        emittedEnd = last
        words.removeFirst(max(0, words.count - overlap))
        let keepFrom = words.first?.start ?? wordStart ?? (base + buffer.count)
        buffer.removeFirst(keepFrom - base)
        base = keepFrom
    }
}
