/// libFuzzer harness for the request head parser and the chunked body decoder, through the
/// decoder that drives both. Whatever the bytes, decoding must not trap, and it must not depend on
/// how the bytes were split across reads: the input fed whole and fed in pieces (of a size the
/// input picks) yield the same requests and the same error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: count))
    guard let first = input.first else { return 0 }
    let whole = decodedEvents(input, piece: max(1, input.count))
    let pieces = decodedEvents(input, piece: Int(first % 23) + 1)
    if whole != pieces {
        fatalError("split-dependent decoding:\n whole  \(whole)\n pieces \(pieces)")
    }
    return 0
}

/// Requests and the first error, in order; the interim 100-continue depends on timing, not bytes.
private func decodedEvents(_ input: [UInt8], piece: Int) -> [String] {
    var decoder = HTTPRequestDecoder(maxBodyBytes: 4096, maxHeaderBytes: 1024)
    var events: [String] = []
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + piece)
        decoder.append(Array(input[offset..<end]))
        offset = end
        while true {
            switch decoder.next() {
            case .request(let request):
                events.append("\(request.method) \(request.target) \(request.version) \(request.headers.fields.count) \(request.body)")
                _ = request.queryItems
                _ = request.keepAlive
                continue
            case .expectsContinue:
                continue
            case .needMoreData:
                break
            case .failure(let error):
                return events + ["error \(error.status)"]
            }
            break
        }
    }
    return events
}
