-- The transactional outbox and the record of job runs (picloud/outbox/, workers/).
-- Not projections: they are the delivery machinery, written by commands and
-- workers. Postgres is the truth, Redis only the transport: a job exists
-- because its outbox row committed, and it is done when its job_runs row says so.

CREATE TABLE outbox (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id         uuid,
    job_id         uuid NOT NULL UNIQUE,
    kind           text NOT NULL,               -- trigger | route
    trigger_id     uuid,
    event_position bigint,
    dedupe_key     text NOT NULL UNIQUE,        -- trigger id + event position (replays add a suffix)
    payload        jsonb NOT NULL,
    -- pending: not yet handed to Dramatiq; sent: handed over, not finished;
    -- done: the job reached a final state.
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'done')),
    -- When the relay may (re)send it: a pending row after a short grace (the
    -- writer's own after-commit send comes first), a sent one when it should
    -- have finished (lost message, Redis restart, killed worker).
    available_at   timestamptz NOT NULL,
    claimed_until  timestamptz,
    sends          integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (available_at) WHERE status <> 'done';

CREATE TABLE job_runs (
    dedupe_key      text PRIMARY KEY,
    job_id          uuid NOT NULL UNIQUE,
    app_id          uuid,
    kind            text NOT NULL,
    trigger_id      uuid,
    script_id       uuid,
    -- running → succeeded | retrying → … | dead | skipped | handler_failed
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    errors          jsonb NOT NULL DEFAULT '[]',
    result          jsonb,
    lease_until     timestamptz,                -- a run in progress holds it
    next_attempt_at timestamptz,
    appends         integer NOT NULL DEFAULT 0,
    started_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX job_runs_app_idx ON job_runs (app_id, started_at);
