-- Scripts, their import graph and HTTP routes (projections of script.* and
-- route.* events; see picloud/projections/scripts.py).
-- The unique constraints are backstops: the services check first under the
-- app's append lock, and a concurrent duplicate fails its append transaction.

CREATE TABLE scripts (
    id            uuid PRIMARY KEY,
    app_id        uuid NOT NULL,
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('endpoint', 'module')),
    source        text NOT NULL,
    version       bigint NOT NULL CHECK (version > 0),   -- = stream version of script-<id>
    imports       text[] NOT NULL DEFAULT '{}',          -- literal import paths, source order
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_position bigint NOT NULL,
    CONSTRAINT scripts_app_name_key UNIQUE (app_id, name),
    -- v1.1.3: a module's name is what `import "<name>"` says, so it must be a plain identifier.
    CONSTRAINT scripts_module_name_check
        CHECK (kind <> 'module' OR name ~ '^[a-zA-Z_][a-zA-Z0-9_]{0,63}$')
);
-- The module resolver looks modules up by (app, name) with kind = 'module'.
CREATE INDEX scripts_app_kind_name_idx ON scripts (app_id, kind, name);

-- One edge per distinct literal import of a script. Edges point at a module
-- *name*, not an id: an import may name a module that does not exist yet
-- (deploy order is free), and "used by" is a lookup by name.
CREATE TABLE script_imports (
    importer_id   uuid NOT NULL,
    app_id        uuid NOT NULL,
    imported_name text NOT NULL,
    PRIMARY KEY (importer_id, imported_name)
);
CREATE INDEX script_imports_reverse_idx ON script_imports (app_id, imported_name);

CREATE TABLE routes (
    id            uuid PRIMARY KEY,
    app_id        uuid NOT NULL,
    script_id     uuid NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    -- The path with every {param} written {}: /users/{id} and /users/{uid} are one route.
    shape         text NOT NULL,
    dispatch_mode text NOT NULL CHECK (dispatch_mode IN ('sync', 'async')),
    created_at    timestamptz NOT NULL,
    last_position bigint NOT NULL,
    CONSTRAINT routes_app_method_shape_key UNIQUE (app_id, method, shape)
);
CREATE INDEX routes_script_id_idx ON routes (script_id);

-- Per app, the position of the last event that changed its routes: the data
-- plane's route-table cache compares it (one indexed read) to know when to reload.
CREATE TABLE app_routes_state (
    app_id        uuid PRIMARY KEY,
    last_position bigint NOT NULL
);
