-- A stream's version is its last event's: the `streams` table goes.
--
-- `streams` held each stream's version and owning app, bumped by every
-- append. The log already holds both: the unique (stream, version) index
-- finds a stream's last event in one probe, and every append reads it under
-- the app's lock (taken first), so the read is exact, and the unique index
-- still refuses a version written twice. Keeping the table in step cost each
-- write an upsert (a heap update, its WAL record and an index probe): KV
-- set+get from scripts at eight workers, an app each, went from ~3,100-3,250
-- to ~3,330-3,360 pairs/s without it (bench/kv_docs.py's cell, in-process).
-- Nothing is lost by dropping it: every row of it is derivable from events.
--
-- picloud_append (0002), picloud_kv_write and picloud_docs_write (0054) are
-- the same but for where they read the version and that they no longer
-- write it; their answers are unchanged (tests/integration/
-- test_direct_write_functions.py, test_event_store.py). The direct writes
-- read the version from the projection row where there is one (a live key,
-- an existing document: the projections keep it equal to the stream's, and
-- the row is the writing app's), and from the log only for a key without a
-- row or a new document, whose stream must be new or the app's own.

CREATE OR REPLACE FUNCTION picloud_append(
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

    -- The stream's version is its last event's (the unique (stream, version)
    -- index finds it); the lock above makes the read exact.
    SELECT e.version, e.app_id INTO v_current, v_owner
      FROM events e WHERE e.stream = p_stream ORDER BY e.version DESC LIMIT 1;
    IF NOT FOUND THEN
        v_current := 0;
    ELSIF v_owner IS DISTINCT FROM p_app_id THEN
        RAISE EXCEPTION 'stream % belongs to another app', p_stream USING ERRCODE = 'PCE02';
    END IF;

    IF p_expected IS NOT NULL AND p_expected <> v_current THEN
        RETURN QUERY SELECT NULL::bigint, v_current, NULL::timestamptz;
        RETURN;
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

CREATE OR REPLACE FUNCTION picloud_kv_write(
    p_app_id uuid,
    p_collection text,
    p_key text,
    p_stream text,
    p_type text,
    p_schema_version integer,
    p_data text,
    p_meta text,
    p_actor text,
    p_correlation_id text,
    p_causation_position bigint,
    p_idempotency_key text,
    p_trigger_kinds text[],
    OUT o_status text,
    OUT o_position bigint,
    OUT o_version bigint,
    OUT o_recorded_at timestamptz
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_current bigint;
    v_owner   uuid;
    v_prev    jsonb;
    v_data    jsonb;
BEGIN
    IF p_type NOT IN ('kv.set', 'kv.deleted') THEN
        RAISE EXCEPTION 'picloud_kv_write: unexpected event type %', p_type;
    END IF;
    PERFORM picloud_lock_app(p_app_id);
    IF cardinality(p_trigger_kinds) > 0 AND EXISTS (
        SELECT 1 FROM triggers t
         WHERE t.app_id = p_app_id AND t.enabled AND t.kind = ANY (p_trigger_kinds)) THEN
        o_status := 'triggers';
        RETURN;
    END IF;
    -- Under the lock (a new statement, so a new snapshot: every earlier write is seen).
    -- A live key's row holds its stream's version (the projection keeps them
    -- equal) and is this app's; only a key without one (new, or deleted
    -- before) needs the stream's last event for its version and owner.
    SELECT k.version, k.value INTO v_current, v_prev
      FROM kv_entries k
     WHERE k.app_id = p_app_id AND k.collection = p_collection AND k.key = p_key;
    IF FOUND THEN
        v_owner := p_app_id;
    ELSIF p_type = 'kv.deleted' THEN
        o_status := 'absent';
        RETURN;
    ELSE
        SELECT e.version, e.app_id INTO v_current, v_owner
          FROM events e WHERE e.stream = p_stream ORDER BY e.version DESC LIMIT 1;
    END IF;
    IF p_idempotency_key IS NOT NULL THEN
        SELECT e.position INTO o_position FROM events e WHERE e.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            o_status := 'duplicate';
            RETURN;
        END IF;
    END IF;
    IF v_current IS NOT NULL AND v_owner IS DISTINCT FROM p_app_id THEN
        RAISE EXCEPTION 'stream % belongs to another app', p_stream USING ERRCODE = 'PCE02';
    END IF;

    IF p_type = 'kv.deleted' THEN
        v_data := p_data::jsonb || jsonb_build_object('prev_value', v_prev);
    ELSE
        v_data := p_data::jsonb
                  || jsonb_build_object('prev_value', v_prev, 'created', v_prev IS NULL);
    END IF;
    -- One statement appends the event and applies it.
    WITH e AS (
        INSERT INTO events (app_id, stream, version, type, schema_version, data, meta, actor,
                            correlation_id, causation_position, idempotency_key)
        VALUES (p_app_id, p_stream, coalesce(v_current, 0) + 1, p_type, p_schema_version, v_data,
                p_meta::jsonb, p_actor, p_correlation_id, p_causation_position,
                p_idempotency_key)
        RETURNING position, version, recorded_at
    ), set_entry AS (
        INSERT INTO kv_entries (app_id, collection, key, value, version, created_at,
                                updated_at, last_position)
        SELECT p_app_id, p_collection, p_key, v_data -> 'value', e.version, e.recorded_at,
               e.recorded_at, e.position
          FROM e
         WHERE p_type = 'kv.set'
        ON CONFLICT (app_id, collection, key) DO UPDATE SET value = EXCLUDED.value,
            version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,
            last_position = EXCLUDED.last_position
    ), delete_entry AS (
        DELETE FROM kv_entries
         WHERE p_type = 'kv.deleted'
           AND app_id = p_app_id AND collection = p_collection AND key = p_key
    )
    SELECT e.position, e.version, e.recorded_at INTO o_position, o_version, o_recorded_at
      FROM e;
    o_status := 'ok';
END
$$;

CREATE OR REPLACE FUNCTION picloud_docs_write(
    p_app_id uuid,
    p_collection text,
    p_doc_id uuid,
    p_stream text,
    p_type text,
    p_schema_version integer,
    p_data text,
    p_meta text,
    p_actor text,
    p_correlation_id text,
    p_causation_position bigint,
    p_idempotency_key text,
    p_trigger_kinds text[],
    OUT o_status text,
    OUT o_position bigint,
    OUT o_version bigint,
    OUT o_recorded_at timestamptz,
    OUT o_created_at timestamptz
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_current  bigint;
    v_owner    uuid;
    v_expected bigint;
    v_created  timestamptz;
    v_prev     jsonb;
    v_data     jsonb;
BEGIN
    IF p_type NOT IN ('doc.created', 'doc.updated', 'doc.deleted') THEN
        RAISE EXCEPTION 'picloud_docs_write: unexpected event type %', p_type;
    END IF;
    PERFORM picloud_lock_app(p_app_id);
    IF cardinality(p_trigger_kinds) > 0 AND EXISTS (
        SELECT 1 FROM triggers t
         WHERE t.app_id = p_app_id AND t.enabled AND t.kind = ANY (p_trigger_kinds)) THEN
        o_status := 'triggers';
        RETURN;
    END IF;
    -- Under the lock: the stream, and (but for a creation) the document as it is.
    IF p_type = 'doc.created' THEN
        SELECT e.version, e.app_id INTO v_current, v_owner
          FROM events e WHERE e.stream = p_stream ORDER BY e.version DESC LIMIT 1;
        v_expected := 0;
        v_data := p_data::jsonb;
    ELSE
        -- A document's row holds its stream's version (the projection keeps
        -- them equal), and a stream with this app's row is this app's.
        SELECT d.data, d.version, d.created_at INTO v_prev, v_expected, v_created
          FROM docs d
         WHERE d.app_id = p_app_id AND d.collection = p_collection AND d.id = p_doc_id;
        IF NOT FOUND THEN
            o_status := 'absent';
            RETURN;
        END IF;
        v_current := v_expected;
        v_owner := p_app_id;
        v_data := p_data::jsonb || jsonb_build_object('prev_data', v_prev);
    END IF;
    IF p_idempotency_key IS NOT NULL THEN
        SELECT e.position INTO o_position FROM events e WHERE e.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            o_status := 'duplicate';
            RETURN;
        END IF;
    END IF;
    IF v_current IS NOT NULL AND v_owner IS DISTINCT FROM p_app_id THEN
        RAISE EXCEPTION 'stream % belongs to another app', p_stream USING ERRCODE = 'PCE02';
    END IF;
    IF coalesce(v_current, 0) <> v_expected THEN
        o_status := 'conflict';
        o_version := coalesce(v_current, 0);
        RETURN;
    END IF;

    -- One statement appends the event and applies it.
    WITH e AS (
        INSERT INTO events (app_id, stream, version, type, schema_version, data, meta, actor,
                            correlation_id, causation_position, idempotency_key)
        VALUES (p_app_id, p_stream, v_expected + 1, p_type, p_schema_version, v_data,
                p_meta::jsonb, p_actor, p_correlation_id, p_causation_position,
                p_idempotency_key)
        RETURNING position, version, recorded_at
    ), create_doc AS (
        INSERT INTO docs (app_id, collection, id, data, version, created_at, updated_at, seq,
                          last_position)
        SELECT p_app_id, p_collection, p_doc_id, v_data -> 'data', e.version, e.recorded_at,
               e.recorded_at, e.position, e.position
          FROM e
         WHERE p_type = 'doc.created'
    ), update_doc AS (
        UPDATE docs SET data = v_data -> 'data', version = e.version,
                        updated_at = e.recorded_at, last_position = e.position
          FROM e
         WHERE p_type = 'doc.updated'
           AND docs.app_id = p_app_id AND docs.collection = p_collection
           AND docs.id = p_doc_id
    ), delete_doc AS (
        DELETE FROM docs
         WHERE p_type = 'doc.deleted'
           AND app_id = p_app_id AND collection = p_collection AND id = p_doc_id
    )
    SELECT e.position, e.version, e.recorded_at INTO o_position, o_version, o_recorded_at
      FROM e;
    IF p_type = 'doc.created' THEN
        v_created := o_recorded_at;
    END IF;
    o_created_at := v_created;
    o_status := 'ok';
END
$$;

DROP TABLE streams;
