/// libFuzzer harness for the upstream Server-Sent Events decoder, with small limits so their
/// paths are reached: the stream fed whole and fed in pieces must agree (same events, or a fault
/// both ways), and nothing may trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpstreamSSE(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: count))
    guard let first = input.first else { return 0 }
    let whole = events(input, piece: input.count)
    let pieces = events(input, piece: Int(first % 13) + 1)
    if whole != pieces {
        fatalError("split-dependent decoding:\n whole  \(whole)\n pieces \(pieces)")
    }
    return 0
}

private func events(_ input: [UInt8], piece: Int) -> [String] {
    var decoder = UpstreamSSEDecoder(maxLineBytes: 256, maxEventBytes: 1024)
    var events: [String] = []
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + piece)
        do {
            events += try decoder.feed(input[offset..<end]).map { "\($0.name ?? "-") \($0.data)" }
        } catch {
            // Events decoded before a fault are dropped by a whole feed, so only the fault counts.
            return ["fault \(error)"]
        }
        offset = end
    }
    return events
}
