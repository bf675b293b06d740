-- KV entries: the projection of kv.set / kv.deleted events (picloud/projections/kv.py).
-- One row per live key; a deleted key has no row (its stream and events remain).
-- `key` is collated "C" so ORDER BY key is byte order of UTF-8 (= code point
-- order): list() pages with a keyset cursor on it and prefix scans turn into
-- a range on the primary key, both independent of the server's locale.
CREATE TABLE kv_entries (
    app_id        uuid NOT NULL,
    collection    text NOT NULL,
    key           text COLLATE "C" NOT NULL,
    value         jsonb NOT NULL,               -- stored form: Blob as {"$kv": "blob", …}
    version       bigint NOT NULL CHECK (version > 0),  -- = version of the key's stream
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_position bigint NOT NULL,
    PRIMARY KEY (app_id, collection, key)
);
