import CFuzzerDriver
import Glibc
import QuorumFuzzEntries

/// The fuzz target: every input goes to `FuzzEntries.configuration` (libFuzzer's runtime also refers to this symbol).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntries.configuration(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

// Built with -sanitize=fuzzer by `make fuzz`. SwiftPM names this file's entry point , so libFuzzer's own
// main is not used: its driver is called here with the process's arguments (libFuzzer flags, corpus folders).
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
