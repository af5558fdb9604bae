// swift-tools-version:6.2
// Quorum's libFuzzer targets (docs/operations.md, "Fuzzing"): one executable per input surface, each a thin
// LLVMFuzzerTestOneInput around an entry function of QuorumFuzzEntries (the main package, by path).
// A package of its own because the targets only link with `-sanitize=fuzzer` (libFuzzer supplies `main`), which a
// normal `swift build` of the main package must not need: `make fuzz` (scripts/fuzz) builds it into fuzz/.build.
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name (the clone's name, e.g. "main" or a worktree's), so read it.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let quorum = root.lastPathComponent

let targets = ["FuzzBarReader", "FuzzStageInputs", "FuzzConfig", "FuzzHTTP"]

let package = Package(
    name: "QuorumFuzz",
    platforms: [.macOS(.v15)],
    products: targets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(path: root.path)],
    targets: [
        // libFuzzer's LLVMFuzzerRunDriver, declared for Swift (SwiftPM renames an executable's main, so libFuzzer's own
        // main cannot be used).
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
    ] + targets.map { name in
        .executableTarget(
            name: name,
            dependencies: ["CFuzzerDriver", .product(name: "QuorumFuzzEntries", package: quorum)],
            path: "Sources/\(name)"
        )
    }
)
