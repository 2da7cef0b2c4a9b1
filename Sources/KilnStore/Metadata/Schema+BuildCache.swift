extension Schema {
    /// Version 3: a cache record's history entry, as the canonical JSON of the step's `History`.
    /// A record with one is replayed onto its parent's state on a cache hit, so a step no longer
    /// needs a whole image config of its own.
    static let buildCacheHistory = """
        ALTER TABLE build_cache ADD COLUMN history TEXT;
        """
}
