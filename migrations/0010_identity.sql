-- Identity read models (projections of user.*, session.*, api_key.* events).
-- Every timestamp comes from the event's recorded_at or payload, never now(),
-- so a replay into shadow tables reproduces these rows exactly.
-- No foreign keys: projections are reset and rebuilt independently.

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL UNIQUE,           -- stored lower-cased
    password_hash   text NOT NULL,                  -- argon2id
    instance_admin  boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         bigint NOT NULL                 -- stream version of user-<id>
);

CREATE TABLE sessions (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL,
    token_hash  text NOT NULL UNIQUE,               -- sha256 of the bearer token
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    prefix      text NOT NULL,                      -- first characters, for listings
    key_hash    text NOT NULL UNIQUE,               -- sha256 of the key; the key itself is never stored
    scopes      text[] NOT NULL,
    app_id      uuid,                               -- restriction to one app, if any
    expires_at  timestamptz,
    created_by  text NOT NULL,                      -- actor that created it
    created_at  timestamptz NOT NULL
);
CREATE INDEX api_keys_app_id_idx ON api_keys (app_id);
