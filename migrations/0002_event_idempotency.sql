-- Idempotent appends: a job that is delivered twice must not append twice.
-- The first event of an append carrying EventMeta.idempotency_key stores it;
-- a second append with the same key is refused (picloud/events/store.py).

ALTER TABLE events ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX events_idempotency_key_idx ON events (idempotency_key)
    WHERE idempotency_key IS NOT NULL;

DROP FUNCTION picloud_append(text, uuid, bigint, text[], integer[], text[], text, text, text,
                             bigint, boolean);

-- As in 0001, plus p_idempotency_key. Returns one row per event; or a single
-- row (NULL, actual version, NULL) when p_expected does not match; or a
-- single row (position of the earlier append, NULL, NULL) when the key was
-- used before. Nothing is written in either refusal.
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
    p_notify boolean,
    p_idempotency_key text
) RETURNS TABLE (o_position bigint, o_version bigint, o_recorded_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_current bigint;
    v_owner   uuid;
    v_count   integer := cardinality(p_types);
    v_earlier bigint;
BEGIN
    -- Position order must equal commit order within an app: a reader tailing
    -- "after position P" must never pass a position whose transaction commits
    -- later. Identity values are handed out at INSERT but become visible at
    -- COMMIT, so two concurrent appenders could commit out of order. Holding
    -- this lock from here to COMMIT makes the next appender of the app draw
    -- its positions only after we are visible (PostgreSQL makes a transaction
    -- visible before releasing its locks). Taking it before the checks also
    -- makes them exact and keeps multi-append transactions free of
    -- lock-order deadlocks.
    PERFORM picloud_lock_app(p_app_id);

    IF p_idempotency_key IS NOT NULL THEN
        SELECT e.position INTO v_earlier
          FROM events e WHERE e.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            RETURN QUERY SELECT v_earlier, NULL::bigint, NULL::timestamptz;
            RETURN;
        END IF;
    END IF;

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
                             actor, correlation_id, causation_position, idempotency_key)
    SELECT p_app_id, p_stream, v_current + u.ord, u.t, u.sv, u.d::jsonb, p_meta::jsonb,
           p_actor, p_correlation_id, p_causation_position,
           CASE WHEN u.ord = 1 THEN p_idempotency_key END
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
