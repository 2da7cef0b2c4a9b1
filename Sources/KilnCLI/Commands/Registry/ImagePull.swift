import Foundation
import KilnDiagnostics
import KilnImage
import KilnRegistry
import KilnStore
import Synchronization

/// The pull of one image with Docker's output, shared by `kiln pull` and by `kiln run` and
/// `kiln create` when their image is missing.
///
/// It downloads the image into the store and unpacks each layer into a snapshot as soon as the
/// layer and those below it are present, as Docker extracts layers during a pull. Unpacking checks
/// every layer's diff ID and contents, measures the size `kiln images` shows, and makes the first
/// `kiln run` fast. On `output` it prints `TAG: Pulling from REPOSITORY`, the layers' progress,
/// and the `Digest:` and `Status:` lines, unless `mode` is quiet.
struct ImagePull {
    var settings: RegistrySettings
    var mode: ProgressMode
    var store: Store
    var context: CommandContext
    /// Standard output for `kiln pull`, as `docker pull` prints there, and standard error for
    /// `kiln run` and `kiln create`, whose standard output is the container's.
    var output: TextOutput

    /// Pulls `reference` for `platform`. An image whose layers cannot be unpacked is removed again
    /// when this pull brought it.
    func run(_ reference: Reference, platform: Platform) async throws -> PullResult {
        let lease = try store.createLease(label: "pull \(reference)")
        defer { try? lease.release() }
        let renderer = makeProgressRenderer(mode, output: output, environment: context.environment)
        // Docker prints "TAG: Pulling from REPOSITORY" once the manifest resolved, so a missing tag
        // shows only the error. The header goes out before the first layer event, or after a pull
        // that moved no layer.
        // A digest reference is printed whole, as Docker prints it (`HOST/REPO@sha256:…`).
        let tagOrDigest = reference.tag ?? (reference.digest != nil ? reference.description : Reference.defaultTag)
        let header = Mutex<String?>(mode == .quiet ? nil : "\(tagOrDigest): Pulling from \(reference.path)")
        let output = output
        let mode = mode
        let printHeader: @Sendable () -> Void = {
            guard let line = header.withLock({ pending in defer { pending = nil }; return pending }) else { return }
            writeResultLine(line, mode: mode, output: output)
        }
        let puller = ImagePuller(
            settings: settings, credentials: RegistryOptions.credentialStore(context),
            locations: RegistryOptions.blobLocations(context), logger: context.logger,
            progress: ProgressReporter { event in
                // A notice (a registry that does not respond) may come before the manifest resolved.
                if case .transfer = event { printHeader() }
                renderer.handle(event)
            })

        let result: PullResult
        do {
            result = try await Self.pullUnpacking(
                reference, platform: platform, puller: puller, store: store, lease: lease, logger: context.logger)
        } catch {
            header.withLock { $0 = nil }
            renderer.finish()
            throw error
        }
        renderer.finish()
        printHeader()
        if mode != .quiet {
            writeResultLine("Digest: \(result.document.digest)", mode: mode, output: output)
            writeResultLine(
                result.changed
                    ? "Status: Downloaded newer image for \(reference.familiarString)"
                    : "Status: Image is up to date for \(reference.familiarString)",
                mode: mode, output: output)
        }
        return result
    }

    /// Pulls `reference` with `puller` into `store` under `lease`, unpacking each layer into a
    /// snapshot during its download or right after it. `kiln pull` and the build's FROM use it.
    ///
    /// As in Docker, the layers that were complete and verified (blob and snapshot) stay after a
    /// network failure or Ctrl-C, so the next pull does not download them again. `kiln image
    /// prune` and `kiln store gc` remove them as unreferenced. Partial downloads and uncommitted
    /// snapshots are gone either way. A layer that fails to unpack (a bad diff ID or archive)
    /// makes the image unusable, so then the image, if this pull brought it, and everything
    /// stored under `lease` go, except what an image or another lease refers to.
    static func pullUnpacking(
        _ reference: Reference, platform: Platform, puller: ImagePuller, store: Store, lease: Lease, logger: Logger
    ) async throws -> PullResult {
        let pullTask = Mutex<Task<PullResult, any Error>?>(nil)
        let unpacker = LayerUnpacker(store: store, lease: lease, logger: logger) {
            pullTask.withLock { $0 }?.cancel()
        }
        func discardAfterUnpackFailure() {
            guard let failure = unpacker.failure, !(failure is CancellationError) else { return }
            do {
                try store.discardWrittenContent(of: lease)
            } catch {
                logger.debug("removing what the failed pull of \(reference) stored failed: \(error)")
            }
        }
        let destination = UnpackingStoreImages(images: StoreImages(store: store, lease: lease), unpacker: unpacker)
        let task = Task {
            try await puller.pull(reference, platform: platform, into: destination) { index, manifest in
                unpacker.layerPresent(index, of: manifest)
            }
        }
        pullTask.withLock { $0 = task }

        let result: PullResult
        do {
            result = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        } catch {
            // No unpack may run once the lease is released. A failed unpack cancels the download,
            // so its error is the one to throw.
            await unpacker.cancel()
            discardAfterUnpackFailure()
            throw unpacker.failure ?? error
        }
        do {
            try await withTaskCancellationHandler {
                try await unpacker.finish(result.manifest)
            } onCancel: {
                unpacker.stop()
            }
        } catch let error as CancellationError {
            // The image is complete, so it stays, and its other layers are unpacked when it is first used.
            throw error
        } catch {
            if result.changed {
                _ = try? store.removeImage(result.manifestDescriptor.digest.description, force: true)
            }
            discardAfterUnpackFailure()
            throw error
        }
        return result
    }
}
