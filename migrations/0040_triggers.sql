-- Triggers and dead letters: projections of trigger.* and dead_letter.* events
-- (picloud/projections/triggers.py). Every column comes from an event, so a
-- rebuild reproduces these tables exactly.

CREATE TABLE triggers (
    id            uuid PRIMARY KEY,
    app_id        uuid NOT NULL,
    kind          text NOT NULL,                -- kv | docs | dead_letter | … (picloud/triggers/)
    script_id     uuid NOT NULL,
    config        jsonb NOT NULL,               -- the kind's fields (collection, ops, …)
    retry         jsonb,                        -- {max_attempts, backoff_base_ms, backoff_max_ms} or NULL
    enabled       boolean NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_position bigint NOT NULL
);
-- The outbox writer looks up an app's enabled triggers of a kind on every matching append.
CREATE INDEX triggers_app_kind_idx ON triggers (app_id, kind) WHERE enabled;

CREATE TABLE dead_letters (
    id              uuid PRIMARY KEY,
    app_id          uuid NOT NULL,
    job_id          uuid NOT NULL,
    job_kind        text NOT NULL,              -- trigger | route
    dedupe_key      text NOT NULL,
    trigger_id      uuid,
    script_id       uuid NOT NULL,
    source_position bigint,                     -- the event that started the job
    source_event    jsonb,                      -- ctx.event the handler saw
    payload         jsonb NOT NULL,             -- the job, for replay
    error           text NOT NULL,              -- the last attempt's error
    attempts        jsonb NOT NULL,             -- [{attempt, error, at}]
    resolved        boolean NOT NULL DEFAULT false,
    resolution      text,                       -- resolved | replayed | handler_failed
    replays         integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_position   bigint NOT NULL
);
CREATE INDEX dead_letters_app_idx ON dead_letters (app_id, resolved, created_at);
