import Foundation
import KilnDiagnostics
import KilnRuntime

/// Starts one container through KilnRuntime, for scripts/bench.d/run: the per-start cost of
/// kiln's runtime layer (spec generation, bundle files, mount-point stubs, runc) in a fresh process.
///
///     kiln-runtime-bench run ROOTFS STATE_ROOT BUNDLE none|host|slirp -- COMMAND...
///     kiln-runtime-bench bundle ROOTFS BUNDLE none|host -- COMMAND...
///
/// `bundle` only writes config.json and the generated files, for a `runc run` baseline.
@main
struct RuntimeBench {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let separator = arguments.firstIndex(of: "--"), separator >= 4 else {
            FileHandle.standardError.write(Data("usage: kiln-runtime-bench run|bundle ROOTFS [STATE_ROOT] BUNDLE NETWORK -- COMMAND...\n".utf8))
            exit(2)
        }
        let options = Array(arguments[..<separator])
        let command = Array(arguments[(separator + 1)...])
        let network: NetworkMode
        switch options.last {
        case "host": network = .host
        case "slirp": network = .slirp(ports: [])
        default: network = .none
        }
        let configuration = ContainerConfiguration(rootfs: options[1], args: command, network: network)

        do {
            switch options[0] {
            case "bundle":
                try ContainerRunner.writeBundle(configuration, to: BundleLayout(directory: options[2]))
            case "run":
                let runc = Runc(executable: try Runc.locate(environment: ProcessInfo.processInfo.environment), stateRoot: options[2])
                let exit = try await ContainerRunner(runc: runc).run(
                    configuration, id: "kiln-bench-\(getpid())", bundle: BundleLayout(directory: options[3]),
                    io: .inherit(stdin: false))
                Foundation.exit(exit.exitCode)
            default:
                FileHandle.standardError.write(Data("kiln-runtime-bench: unknown mode \(options[0])\n".utf8))
                exit(2)
            }
        } catch let error as any KilnError {
            FileHandle.standardError.write(Data("kiln-runtime-bench: \(error.description)\n".utf8))
            exit(error.exitStatus)
        } catch {
            FileHandle.standardError.write(Data("kiln-runtime-bench: \(error)\n".utf8))
            exit(1)
        }
    }
}
