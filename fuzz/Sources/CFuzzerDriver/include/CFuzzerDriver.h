#ifndef QUORUM_CFUZZERDRIVER_H
#define QUORUM_CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer): parses libFuzzer's flags from argv and runs the
/// fuzzing loop with `callback` as the target. SwiftPM names an executable's entry point `<Target>_main`, so the
/// targets call this from their main.swift instead of relying on libFuzzer's own `main`.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
