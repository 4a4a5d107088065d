/// The property the decoders' harnesses share: bytes fed whole and fed in pieces of a size the
/// input itself picks (1 to `largestPiece`) decode alike. A difference traps, which libFuzzer
/// reports as a crash and keeps the input of.
func expectSplitIndependent(_ data: UnsafePointer<UInt8>, _ count: Int, largestPiece: Int,
                            _ decode: ([ArraySlice<UInt8>]) -> [String]) {
    let input = Array(UnsafeBufferPointer(start: data, count: count))
    guard let first = input.first else { return }
    let size = Int(first) % largestPiece + 1
    let pieces = stride(from: 0, to: input.count, by: size).map { input[$0..<min(input.count, $0 + size)] }
    let whole = decode([input[...]])
    let split = decode(pieces)
    if whole != split {
        fatalError("split-dependent decoding:\n whole  \(whole)\n pieces \(split)")
    }
}
