/// libFuzzer harness for the request head parser and the chunked body decoder, through the
/// decoder that drives both. Whatever the bytes, decoding must not trap, and it must not depend on
/// how the bytes were split across reads: the same requests and the same error either way.
/// Targets starting `/u` have their bodies streamed (as uploads are) and put back together here,
/// so streamed and buffered framing are held to the same answers.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    expectSplitIndependent(data, count, largestPiece: 23, decodedEvents)
    return 0
}

/// Requests and the first error, in order; the interim 100-continue depends on timing, not bytes.
private func decodedEvents(_ pieces: [ArraySlice<UInt8>]) -> [String] {
    var decoder = HTTPRequestDecoder(maxBodyBytes: 4096, maxHeaderBytes: 1024,
                                     streamsBody: { $0.target.hasPrefix("/u") ? 4096 : nil })
    var events: [String] = []
    var streaming: (request: HTTPRequest, body: [UInt8])?
    for piece in pieces {
        decoder.append(Array(piece))
        while true {
            if let (request, body) = streaming {
                switch decoder.nextBodyPiece(maxBytes: 7) {
                case .data(let bytes):
                    streaming?.body = body + bytes
                    continue
                case .end:
                    events.append("\(request.method) \(request.target) \(request.version) \(request.headers.fields.count) \(body)")
                    streaming = nil
                case .needMoreData:
                    break
                case .failure(let error):
                    return events + ["error \(error.status)"]
                }
                if streaming != nil { break }
            }
            switch decoder.next() {
            case .streamedRequest(let request):
                streaming = (request, [])
                continue
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
