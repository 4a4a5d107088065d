/// libFuzzer harness for the multipart/form-data parser. Whatever the bytes, parsing must not
/// trap, and it must not depend on how the bytes were split across reads: the same parts with
/// the same content, and the same error, either way. The boundary is the test table's.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    expectSplitIndependent(data, count, largestPiece: 31, parsedParts)
    return 0
}

/// Parts with their whole content, then the ending; content pieces are joined, since where
/// they are cut depends on the reads.
private func parsedParts(_ pieces: [ArraySlice<UInt8>]) -> [String] {
    var parser = MultipartParser(boundary: "XyZ-123", maxHeaderBytes: 512, maxParts: 16)
    var events: [MultipartEvent] = []
    for piece in pieces { events += parser.feed(piece) }
    if let last = parser.finish() { events.append(last) }
    var described: [String] = []
    var content: [UInt8] = []
    for event in events {
        switch event {
        case .partStarted(let part): described.append("part \(part)")
        case .data(let bytes): content += bytes
        case .partEnded:
            described.append("content \(content)")
            content = []
        case .finished: described.append("end")
        case .failed(let error): described.append("error \(error.message)")
        }
    }
    return described
}
