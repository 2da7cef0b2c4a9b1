extension Schema {
    /// Version 4: volumes under `<root>/volumes/NAME/_data`, with their creation time (Unix
    /// seconds) and labels as a JSON object. An anonymous volume carries Docker's
    /// `com.docker.volume.anonymous` label, which `volume prune` without `-a` selects by.
    static let volumes = """
        CREATE TABLE volumes (
            name TEXT PRIMARY KEY,
            created INTEGER NOT NULL,
            labels TEXT
        );
        """
}
