import CSystem

/// The CPUs that the calling thread may run on, from its affinity mask (sched_getaffinity(2)).
public enum CPUAffinity {
    /// Returns the number of CPUs in the calling thread's affinity mask, or nil when the system
    /// call fails.
    public static func allowedCPUCount() -> Int? {
        let count = kiln_allowed_cpu_count()
        return count > 0 ? Int(count) : nil
    }

    /// Restricts the calling thread to one CPU of its affinity mask: the one at `index` modulo the
    /// number of allowed CPUs, counting from the lowest CPU number. Returns false and leaves the
    /// mask unchanged when the system call fails, for example under a seccomp filter that denies it.
    @discardableResult
    public static func pinCurrentThread(toAllowedCPU index: Int) -> Bool {
        guard let index = Int32(exactly: index), index >= 0 else { return false }
        return kiln_pin_thread_to_allowed_cpu(index) == 0
    }
}
