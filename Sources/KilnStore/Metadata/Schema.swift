/// The store's SQLite schema, as a list of migrations: `migrations[i]` moves a database from
/// schema version `i` to `i + 1`.
///
/// Never edit a migration that has shipped; append a new one. Other modules that need columns
/// of their own (the runtime's container state, the build cache's extra keys) add migrations
/// here too, so that one version number describes the whole database.
enum Schema {
    static let migrations: [String] = [version1, containerRuntimeState, buildCacheHistory, volumes]

    /// Digests are stored as their `algorithm:hex` text. Times are Unix seconds.
    private static let version1 = """
        CREATE TABLE images (
            manifest_digest TEXT PRIMARY KEY,
            media_type TEXT NOT NULL,
            manifest_size INTEGER NOT NULL,
            config_digest TEXT NOT NULL,
            config_size INTEGER NOT NULL,
            os TEXT NOT NULL,
            architecture TEXT NOT NULL,
            variant TEXT,
            created TEXT,
            created_seconds INTEGER,
            size INTEGER NOT NULL,
            labels TEXT,
            parent TEXT,
            comment TEXT,
            added INTEGER NOT NULL,
            last_tagged INTEGER
        );
        CREATE INDEX images_by_config ON images (config_digest);

        CREATE TABLE layers (
            digest TEXT PRIMARY KEY,
            diff_id TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            uncompressed_size INTEGER
        );
        CREATE INDEX layers_by_diff_id ON layers (diff_id);

        CREATE TABLE image_layers (
            manifest_digest TEXT NOT NULL REFERENCES images (manifest_digest) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            layer_digest TEXT NOT NULL REFERENCES layers (digest),
            PRIMARY KEY (manifest_digest, position)
        );
        CREATE INDEX image_layers_by_layer ON image_layers (layer_digest);

        CREATE TABLE tags (
            reference TEXT PRIMARY KEY,
            repository TEXT NOT NULL,
            tag TEXT NOT NULL,
            manifest_digest TEXT NOT NULL REFERENCES images (manifest_digest) ON DELETE CASCADE,
            created INTEGER NOT NULL
        );
        CREATE INDEX tags_by_image ON tags (manifest_digest);

        CREATE TABLE repo_digests (
            repository TEXT NOT NULL,
            digest TEXT NOT NULL,
            manifest_digest TEXT NOT NULL REFERENCES images (manifest_digest) ON DELETE CASCADE,
            PRIMARY KEY (repository, digest)
        );
        CREATE INDEX repo_digests_by_image ON repo_digests (manifest_digest);

        CREATE TABLE snapshots (
            chain_id TEXT PRIMARY KEY,
            parent TEXT,
            diff_id TEXT NOT NULL,
            size INTEGER,
            created INTEGER NOT NULL,
            last_used INTEGER
        );

        CREATE TABLE build_cache (
            key TEXT PRIMARY KEY,
            parent_key TEXT,
            description TEXT,
            config_digest TEXT,
            layer_digest TEXT,
            diff_id TEXT,
            chain_id TEXT,
            size INTEGER NOT NULL DEFAULT 0,
            created INTEGER NOT NULL,
            last_used INTEGER NOT NULL,
            usage_count INTEGER NOT NULL DEFAULT 0
        );

        CREATE TABLE containers (
            id TEXT PRIMARY KEY,
            name TEXT UNIQUE,
            image_manifest TEXT,
            image_id TEXT,
            image_reference TEXT,
            snapshot_chain_id TEXT,
            state TEXT NOT NULL DEFAULT 'created',
            created INTEGER NOT NULL,
            size INTEGER,
            config TEXT
        );
        CREATE INDEX containers_by_image ON containers (image_manifest);

        CREATE TABLE leases (
            id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            pid INTEGER,
            start_time INTEGER,
            pid_namespace INTEGER,
            boot_id TEXT,
            created INTEGER NOT NULL,
            expires INTEGER
        );

        CREATE TABLE lease_resources (
            lease_id TEXT NOT NULL REFERENCES leases (id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            PRIMARY KEY (lease_id, kind, key)
        );
        CREATE INDEX lease_resources_by_key ON lease_resources (kind, key);
        """
}
