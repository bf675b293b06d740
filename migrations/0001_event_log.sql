-- The event log: every mutation in PiCloud is a row here (see picloud/events/).

-- One row per stream: its current version and owning app. The version check of
-- an append reads and bumps this row, so it is the optimistic-concurrency point.
CREATE TABLE streams (
    stream  text PRIMARY KEY,
    app_id  uuid,
    version bigint NOT NULL CHECK (version > 0)
);

CREATE TABLE events (
    position           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id             uuid,
    stream             text NOT NULL,
    version            bigint NOT NULL CHECK (version > 0),
    type               text NOT NULL,
    schema_version     integer NOT NULL DEFAULT 1,
    data               jsonb NOT NULL,
    meta               jsonb NOT NULL,
    -- Typed copies of the metadata that audit queries filter on.
    actor              text,
    correlation_id     text,
    causation_position bigint,
    -- Kept so a reader could switch to an xid8-horizon tail if the append lock
    -- ever became the bottleneck (research §1.3 e).
    tx_id              xid8 NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT events_stream_version_key UNIQUE (stream, version)
);

CREATE INDEX events_app_position_idx ON events (app_id, position);
CREATE INDEX events_type_position_idx ON events (type, position);
CREATE INDEX events_correlation_idx ON events (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX events_causation_idx ON events (causation_position)
    WHERE causation_position IS NOT NULL;
CREATE INDEX events_recorded_at_idx ON events USING brin (recorded_at);

-- Events are immutable: the database itself refuses to change or remove them.
-- Statement-level, so even an UPDATE/DELETE matching no row is refused.
CREATE FUNCTION picloud_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % on events is refused', TG_OP
        USING ERRCODE = 'PCE01', HINT = 'append a compensating event instead';
END
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION picloud_events_append_only();

-- The per-app append lock (transaction-scoped). Instance-level events
-- (app_id NULL) share one key. The two-int form keeps this key space apart
-- from single-bigint advisory locks used elsewhere (migrations, schedulers);
-- a 32-bit hash collision between two apps only costs them some parallelism.
CREATE FUNCTION picloud_lock_app(p_app_id uuid) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(1885954924, hashtext(coalesce(p_app_id::text, '')))
$$;

-- Append a batch of events to one stream; see picloud/events/store.py.
-- Returns one row per event, or a single row with a NULL position and the
-- stream's actual version when p_expected does not match (nothing written).
CREATE FUNCTION picloud_append(
    p_stream text,
    p_app_id uuid,
    p_expected bigint,
    p_types text[],
    p_schema_versions integer[],
    p_data text[],
    p_meta text,
    p_actor text,
    p_correlation_id text,
    p_causation_position bigint,
    p_notify boolean
) RETURNS TABLE (o_position bigint, o_version bigint, o_recorded_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_current bigint;
    v_owner   uuid;
    v_count   integer := cardinality(p_types);
BEGIN
    -- Position order must equal commit order within an app: a reader tailing
    -- "after position P" must never pass a position whose transaction commits
    -- later. Identity values are handed out at INSERT but become visible at
    -- COMMIT, so two concurrent appenders could commit out of order. Holding
    -- this lock from here to COMMIT makes the next appender of the app draw
    -- its positions only after we are visible (PostgreSQL makes a transaction
    -- visible before releasing its locks). Taking it before the version check
    -- also makes that check exact and keeps multi-append transactions free of
    -- lock-order deadlocks.
    PERFORM picloud_lock_app(p_app_id);

    SELECT s.version, s.app_id INTO v_current, v_owner
      FROM streams s WHERE s.stream = p_stream;
    IF NOT FOUND THEN
        v_current := 0;
    ELSIF v_owner IS DISTINCT FROM p_app_id THEN
        RAISE EXCEPTION 'stream % belongs to another app', p_stream USING ERRCODE = 'PCE02';
    END IF;

    IF p_expected IS NOT NULL AND p_expected <> v_current THEN
        RETURN QUERY SELECT NULL::bigint, v_current, NULL::timestamptz;
        RETURN;
    END IF;

    IF v_current = 0 THEN
        INSERT INTO streams (stream, app_id, version) VALUES (p_stream, p_app_id, v_count);
    ELSE
        UPDATE streams SET version = v_current + v_count WHERE stream = p_stream;
    END IF;

    -- One statement for the whole batch; ORDER BY keeps positions in version order.
    RETURN QUERY
    INSERT INTO events AS e (app_id, stream, version, type, schema_version, data, meta,
                             actor, correlation_id, causation_position)
    SELECT p_app_id, p_stream, v_current + u.ord, u.t, u.sv, u.d::jsonb, p_meta::jsonb,
           p_actor, p_correlation_id, p_causation_position
      FROM unnest(p_types, p_schema_versions, p_data) WITH ORDINALITY AS u(t, sv, d, ord)
     ORDER BY u.ord
    RETURNING e.position, e.version, e.recorded_at;

    IF p_notify THEN
        -- Payload "<app id or empty>:<last position>": a wake-up, not the data.
        PERFORM pg_notify('picloud_events',
            coalesce(p_app_id::text, '') || ':' ||
            currval(pg_get_serial_sequence('events', 'position'))::text);
    END IF;
END
$$;
