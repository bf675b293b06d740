-- Per-app secrets the platform keeps for itself (the subscriber-token signing
-- key, picloud/realtime/tokens.py). Deliberately not a projection: secret
-- material never enters the event log; only "rotated" events do.
CREATE TABLE app_secrets (
    app_id      uuid NOT NULL,                 -- no FK: a projection rebuild empties apps
    name        text NOT NULL,
    secret      bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, name)
);
