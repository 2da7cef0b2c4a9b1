import Foundation
import KilnDiagnostics
import KilnRuntime
import Synchronization

/// Whether the runtime integration tests can run here: root, runc and busybox-static.
enum RuntimeHarness {
    static var isReady: Bool {
        getuid() == 0 && BusyboxRootfs.isAvailable && (try? Runc.locate(environment: [:])) != nil
    }

    /// One runc state root for every test run, so the startup check runs once per runc binary.
    static let stateRoot: String = {
        let path = "/tmp/kiln-runtime-tests"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static func runner() throws -> ContainerRunner {
        let runc = Runc(executable: try Runc.locate(environment: [:]), stateRoot: stateRoot)
        return ContainerRunner(runc: runc)
    }

    static func uniqueID(_ name: String) -> String {
        "kiln-test-\(name)-\(UInt32.random(in: 0...UInt32.max))"
    }
}

/// A container's output, captured per stream.
struct CapturedRun {
    var exit: ContainerExit
    var stdout: String
    var stderr: String
}

extension BusyboxRootfs {
    /// Runs `args` in this rootfs with the output captured; `configure` adjusts the configuration.
    func run(
        _ args: [String], name: String = "run", configure: (inout ContainerConfiguration) -> Void = { _ in }
    ) async throws -> CapturedRun {
        var configuration = ContainerConfiguration(rootfs: rootfs, args: args)
        configure(&configuration)
        let stdout = Mutex<[UInt8]>([])
        let stderr = Mutex<[UInt8]>([])
        let exit = try await RuntimeHarness.runner().run(
            configuration, id: RuntimeHarness.uniqueID(name), bundle: BundleLayout(directory: bundle),
            io: .stream(tailLines: 10) { stream, chunk in
                switch stream {
                case .stdout: stdout.withLock { $0 += chunk }
                case .stderr: stderr.withLock { $0 += chunk }
                }
            })
        return CapturedRun(
            exit: exit,
            stdout: String(decoding: stdout.withLock { $0 }, as: UTF8.self),
            stderr: String(decoding: stderr.withLock { $0 }, as: UTF8.self))
    }
}
