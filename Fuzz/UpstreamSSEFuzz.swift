/// libFuzzer harness for the upstream Server-Sent Events decoder, with small limits so their
/// paths are reached: the stream fed whole and fed in pieces must agree (same events, or a fault
/// both ways), and nothing may trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpstreamSSE(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    expectSplitIndependent(data, count, largestPiece: 13, events)
    return 0
}

private func events(_ pieces: [ArraySlice<UInt8>]) -> [String] {
    var decoder = UpstreamSSEDecoder(maxLineBytes: 256, maxEventBytes: 1024)
    var events: [String] = []
    for piece in pieces {
        do {
            events += try decoder.feed(piece).map { "\($0.name ?? "-") \($0.data)" }
        } catch {
            // Events decoded before a fault are dropped by a whole feed, so only the fault counts.
            return ["fault \(error)"]
        }
    }
    return events
}
