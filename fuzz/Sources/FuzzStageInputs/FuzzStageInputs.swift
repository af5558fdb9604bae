import QuorumFuzzEntries

/// libFuzzer's entry point (linked with -sanitize=fuzzer): every input goes to `FuzzEntries.stageInputs`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzEntries.stageInputs(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
