/// The maximum number of layers of an image that kiln can run or build on.
///
/// kiln mounts each layer as one lower directory of the overlay under a container or a build
/// step, and overlayfs stacks at most 500 lower directories (`OVL_MAX_STACK` in the kernel's
/// fs/overlayfs). kiln passes the lower directories to the kernel one at a time through
/// fsconfig(2), so no option-string length lowers that limit. Docker stops at 125 layers
/// (`maxLayerDepth` in its layer store), sized for graph drivers that stacked at most 127.
///
/// NOTE: before Linux 6.8, which added `lowerdir+` to fsconfig(2), kiln names the lower
/// directories in one page of mount(2) options, as `/proc/self/fd/N`. About 200 fit there, so
/// on such kernels a mount can fail below this limit.
public enum LayerCountLimit {
    public static let maximum = 500

    /// Describes why an image of `layerCount` layers cannot be run or built on, or returns nil when it fits.
    public static func excessReason(layerCount: Int) -> String? {
        guard layerCount > maximum else { return nil }
        return "the image has \(layerCount) layers, more than the \(maximum) that kiln can stack in one overlay mount "
            + "(the kernel's overlayfs limit)"
    }

    /// The hint for an image with too many layers that kiln did not build.
    public static let squashHint =
        "rebuild the image with fewer layers, for example by merging its RUN instructions, "
        + "or import a flattened copy of its root filesystem with `kiln import`"
}
