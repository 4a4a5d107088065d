import RunsDomain

/// libFuzzer harness for the JSON parser: any bytes either fail to parse or parse to a value that
/// survives a round trip through the serializer unchanged. Nothing may trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: count))
    guard let value = try? JSONValue.parse(input) else { return 0 }
    let text = value.serialized()
    guard let again = try? JSONValue.parse(text) else {
        fatalError("serialized JSON does not parse: \(String(decoding: text, as: UTF8.self))")
    }
    if again != value || again.serialized() != text {
        fatalError("round trip changed the value: \(String(decoding: text, as: UTF8.self))")
    }
    return 0
}
