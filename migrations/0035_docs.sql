-- Document collections: the projection of doc.* events (picloud/projections/docs.py).
-- One row per live document of an app's collection; deleted documents leave
-- the table (their events stay in the log).

CREATE TABLE docs (
    app_id        uuid NOT NULL,
    collection    text NOT NULL,
    id            uuid NOT NULL,
    data          jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    version       bigint NOT NULL CHECK (version > 0),   -- = stream version of doc-<id>
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    -- Log position of the doc.created event: the default order of find() and
    -- the keyset of list()'s cursor. Appends of one app are serial, so a new
    -- document always sorts after every existing one and pages stay stable.
    seq           bigint NOT NULL,
    last_position bigint NOT NULL,
    PRIMARY KEY (app_id, collection, id)
);

CREATE UNIQUE INDEX docs_app_collection_seq_idx ON docs (app_id, collection, seq);
-- Equality filters compile to data @> '{"path": value}', which this index answers.
CREATE INDEX docs_data_gin_idx ON docs USING gin (data jsonb_path_ops);
