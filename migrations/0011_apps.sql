-- App read models (projections of app.* events).
-- Uniqueness of slugs and hostnames is enforced here: a concurrent duplicate
-- fails its append transaction, so the log never holds two apps with one slug.

CREATE TABLE apps (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    hostnames   text[] NOT NULL DEFAULT '{}',       -- in the order given
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     bigint NOT NULL                     -- stream version of app-<id>
);

-- One row per hostname so the data plane can route by Host in one lookup
-- and the primary key makes hostnames unique across apps.
CREATE TABLE app_hostnames (
    hostname    text PRIMARY KEY,
    app_id      uuid NOT NULL
);
CREATE INDEX app_hostnames_app_id_idx ON app_hostnames (app_id);

CREATE TABLE app_members (
    app_id      uuid NOT NULL,
    user_id     uuid NOT NULL,
    role        text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX app_members_user_id_idx ON app_members (user_id);
