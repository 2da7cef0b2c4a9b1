import Foundation

/// The isolation defaults that Docker (moby's `oci/defaults.go` and `caps/defaults.go`) gives every
/// container, which kiln uses for build steps and `kiln run` alike.
public enum DockerDefaults {
    /// Docker's default capability set, without the `CAP_` prefix that the OCI spec adds.
    public static let capabilities: [String] = [
        "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
        "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
    ]

    /// Paths hidden from the container: files become /dev/null, directories an empty read-only tmpfs.
    public static let maskedPaths: [String] = [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ]

    /// Paths remounted read-only inside the container.
    public static let readonlyPaths: [String] = [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]

    /// The search path a process gets when neither the image nor the caller sets PATH.
    public static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Open-file limit: soft 1024 as most programs expect, hard 524288 as containerd 2 and Docker 25+
    /// set, both capped at kiln's own hard limit, because the container lacks CAP_SYS_RESOURCE
    /// and runc cannot raise a limit for it.
    public static var rlimits: [RuntimeSpec.Rlimit] {
        var current = rlimit()
        let ceiling = getrlimit(RLIMIT_NOFILE_VALUE, &current) == 0 ? UInt64(current.rlim_max) : 1024
        let hard = min(524_288, ceiling)
        return [RuntimeSpec.Rlimit(type: "RLIMIT_NOFILE", hard: hard, soft: min(1024, hard))]
    }

    private static let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

    /// The filesystems every container gets. runc creates the standard device nodes (null, zero,
    /// full, random, urandom, tty, ptmx) in the /dev tmpfs itself.
    public static let mounts: [RuntimeSpec.Mount] = [
        .init(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
        .init(
            destination: "/dev", type: "tmpfs", source: "tmpfs",
            options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        .init(
            destination: "/dev/pts", type: "devpts", source: "devpts",
            options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        .init(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
        .init(
            destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
            options: ["ro", "nosuid", "noexec", "nodev"]),
        .init(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
        .init(
            destination: "/dev/shm", type: "tmpfs", source: "shm",
            options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
    ]
}
