/// The files of one OCI bundle directory: `config.json`, runc's log, and the files kiln generates
/// for the container (/etc/hosts, /etc/resolv.conf, /etc/hostname, `extraFiles`), which live
/// here so that they never become part of the rootfs.
public struct BundleLayout: Sendable, Equatable {
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public var config: String { directory + "/config.json" }
    /// runc's JSON log (`runc --log`), read back for the message of a failed runc command.
    public var runcLog: String { directory + "/runc.log" }
    public var hosts: String { directory + "/hosts" }
    public var resolvConf: String { directory + "/resolv.conf" }
    public var hostname: String { directory + "/hostname" }
    /// The pid file that `runc create` and `runc run -d` write.
    public var pidFile: String { directory + "/init.pid" }
    /// The pid of a detached container's slirp4netns, and on a second line its API socket.
    public var slirpPidFile: String { directory + "/slirp.pid" }
    /// The mount-point stubs of a detached container, removed by `ContainerRunner.remove`.
    public var stubs: String { directory + "/stubs.json" }

    func extraFile(_ index: Int) -> String { directory + "/file-\(index)" }

    /// The generated /etc files, as (container destination, host source) pairs.
    var etcFiles: [(destination: String, source: String)] {
        [("/etc/hosts", hosts), ("/etc/resolv.conf", resolvConf), ("/etc/hostname", hostname)]
    }
}
