// swift-tools-version: 6.0
import PackageDescription

// Each stage of the pipeline is one target, and a target depends only on the stages before it.
// The C libraries come from Debian's -dev packages, all but libarchive through system-library
// targets.

let package = Package(
    name: "kiln",
    products: [
        .executable(name: "kiln", targets: ["kiln"])
    ],
    targets: [
        // Linked statically from liblua5.4.a by its module map; pkg-config would add `-llua5.4`.
        .systemLibrary(
            name: "CLua",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        // libarchive is loaded on its first use (see archive_loader.c), so it is not linked.
        .target(name: "CArchive", linkerSettings: [.linkedLibrary("dl")]),
        // libcrypto, libssl, zlib, libdeflate and SQLite are linked statically from the archives
        // that their -dev packages install, by their module maps and without pkg-config, which
        // would add `-lcrypto` and the others. Loading and binding five shared libraries took
        // about 0.8 ms of CPU time at every start of kiln. zstd is linked from its shared library,
        // because Debian's libzstd.a is built without threads.
        .systemLibrary(
            name: "CCrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CDeflate",
            providers: [.apt(["libdeflate-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CTLS",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "CSystem"),

        .target(name: "KilnDiagnostics"),
        .target(name: "KilnSystem", dependencies: ["CSystem", "KilnDiagnostics"]),
        .target(name: "KilnDockerfile", dependencies: ["KilnDiagnostics"]),
        .target(name: "KilnImage", dependencies: ["CCrypto", "KilnDiagnostics", "KilnSystem"]),
        .target(
            name: "KilnLayer",
            dependencies: ["KilnImage", "KilnSystem", "CArchive", "CZlib", "CDeflate", "CZstd", "CCrypto"]
        ),
        .target(name: "KilnStore", dependencies: ["KilnImage", "KilnLayer", "KilnSystem", "CSQLite"]),
        .target(name: "KilnSnapshot", dependencies: ["KilnLayer", "KilnStore"]),
        .target(name: "KilnRuntime", dependencies: ["KilnImage", "KilnSnapshot", "KilnSystem"]),
        .target(name: "KilnRegistry", dependencies: ["KilnImage", "KilnStore", "CTLS", "CSystem"]),
        .target(
            name: "KilnBuild",
            dependencies: [
                "KilnDockerfile", "KilnImage", "KilnLayer", "KilnStore", "KilnSnapshot", "KilnRuntime",
                "KilnRegistry",
            ]
        ),
        .target(name: "KilnLua", dependencies: ["CLua", "CCrypto", "CSystem", "KilnImage", "KilnBuild"]),
        .target(
            name: "KilnContainer",
            dependencies: ["CSystem", "KilnImage", "KilnLayer", "KilnStore", "KilnSnapshot", "KilnRuntime", "KilnSystem"]
        ),
        .target(name: "KilnCLI", dependencies: ["KilnBuild", "KilnLua", "KilnContainer"]),
        // `swift build -c release --static-swift-stdlib` passes `-lstdc++` to the linker for the
        // Swift runtime (static-stdlib-args.lnk of Swift 6.3). The linker script in
        // link/static-libstdc++ makes that name the static archive, so the loader no longer loads
        // libstdc++.so and binds its 3,300 symbol relocations at every start: 1.8 million fewer
        // instructions of `kiln run` under callgrind. A process that loads libarchive gets
        // libstdc++.so as well, through ICU, and each copy serves its own callers, because the
        // static one is not exported.
        .executableTarget(
            name: "kiln", dependencies: ["KilnCLI", "KilnImage"],
            linkerSettings: [
                .unsafeFlags(["-L", Context.packageDirectory + "/link/static-libstdc++"], .when(configuration: .release))
            ]),
        // One container start through KilnRuntime, measured by scripts/bench.d/run.
        .executableTarget(name: "kiln-runtime-bench", dependencies: ["KilnRuntime"]),
        // Runs layer diff and apply alone, for scripts/bench.d/layer.
        .executableTarget(name: "kiln-layer-bench", dependencies: ["KilnLayer"]),
    ] + testTargets
)

/// Test targets: one per source target, plus `Integration` for tests that need root, runc or a
/// registry. Each target is listed once its folder holds a test, because SwiftPM rejects an empty
/// target. The list is static because SwiftPM caches the evaluated manifest and would not notice
/// a test folder added later.
var testTargets: [Target] {
    [
        // Helpers shared by several test targets; not part of any product.
        .target(name: "KilnTestSupport", dependencies: ["CSystem"], path: "Tests/KilnTestSupport"),
        .testTarget(name: "KilnDiagnosticsTests", dependencies: ["KilnDiagnostics"]),
        .testTarget(name: "KilnSystemTests", dependencies: ["CSystem", "KilnSystem", "KilnTestSupport"]),
        .testTarget(name: "KilnDockerfileTests", dependencies: ["KilnDockerfile"], exclude: ["Fixtures"]),
        .testTarget(name: "KilnImageTests", dependencies: ["KilnImage"]),
        .testTarget(name: "KilnLayerTests", dependencies: ["CArchive", "KilnLayer", "KilnSystem", "KilnTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "KilnStoreTests", dependencies: ["KilnStore", "KilnSystem"]),
        .testTarget(name: "KilnRuntimeTests", dependencies: ["KilnRuntime"]),
        .testTarget(name: "KilnRegistryTests", dependencies: ["KilnRegistry"]),
        .testTarget(name: "KilnBuildTests", dependencies: ["KilnBuild"]),
        .testTarget(name: "KilnLuaTests", dependencies: ["KilnLua"]),
        .testTarget(name: "KilnContainerTests", dependencies: ["KilnContainer"]),
        .testTarget(name: "KilnCLITests", dependencies: ["KilnCLI", "KilnSystem", "KilnTestSupport"]),
        .testTarget(
            name: "Integration", dependencies: ["KilnCLI", "KilnContainer", "KilnLayer", "KilnSystem", "KilnTestSupport"], exclude: ["Fixtures"]),
    ]
}
