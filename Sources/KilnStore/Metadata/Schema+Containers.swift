extension Schema {
    /// Version 2: the state that `kiln run` keeps for a container beside the `state` column
    /// (its pid, start and finish times, exit code, health, published ports and monitor process),
    /// as one JSON document that KilnContainer reads and writes.
    static let containerRuntimeState = """
        ALTER TABLE containers ADD COLUMN runtime_state TEXT;
        """
}
