-- Direct writes: one KV or document write in one statement (picloud/services/direct.py).
--
-- The general path of a write takes five or six round trips (BEGIN with the
-- app lock, the read of the current state, picloud_append, the projection,
-- the outbox's trigger lookup, COMMIT); on a busy machine each costs more than
-- the work it carries. These functions do the same steps server-side, in the
-- caller's transaction (its own when called in autocommit):
--
-- 1. take the app's append lock, as picloud_append does;
-- 2. if the app has an enabled trigger of a kind the event fires
--    (p_trigger_kinds), write nothing and answer 'triggers': the caller then
--    takes the general path, whose append hooks write the outbox rows;
-- 3. read the current state (a VOLATILE function's statements each take a
--    fresh snapshot, so they see every write that held the lock before);
-- 4. complete the event: p_data is the event as picloud/events/codec.py
--    encodes it, and the fields only known under the lock are set here
--    exactly as the event classes encode them (prev_value and created of
--    kv.set, prev_value of kv.deleted, prev_data of doc.updated/doc.deleted);
--    a write to something absent writes nothing ('absent');
-- 5. append it with picloud_append at the version just read;
-- 6. apply it with the statements picloud/projections/kv.py and docs.py run
--    (rebuilds use those; tests/integration/kv/test_direct_writes.py and
--    tests/integration/docs/test_direct_writes.py hold both paths to the same
--    events and rows).
--
-- Each answers one row: o_status 'ok' (o_position, o_version, o_recorded_at
-- of the event), 'absent', 'triggers', 'duplicate' (o_position: the earlier
-- append with p_idempotency_key) or 'conflict' (o_version: the stream's
-- actual version; only a new document's stream can be taken, by an id clash).

-- Steps 1 and 2: true when the caller may write directly.
CREATE FUNCTION picloud_lock_for_direct_write(p_app_id uuid, p_trigger_kinds text[])
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM picloud_lock_app(p_app_id);
    RETURN cardinality(p_trigger_kinds) = 0 OR NOT EXISTS (
        SELECT 1 FROM triggers t
         WHERE t.app_id = p_app_id AND t.enabled AND t.kind = ANY (p_trigger_kinds));
END
$$;

CREATE FUNCTION picloud_kv_write(
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
    p_trigger_kinds text[]
) RETURNS TABLE (o_status text, o_position bigint, o_version bigint,
                 o_recorded_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_version bigint;
    v_prev    jsonb;
    v_data    jsonb := p_data::jsonb;
    v_pos     bigint;
    v_ver     bigint;
    v_at      timestamptz;
BEGIN
    IF p_type NOT IN ('kv.set', 'kv.deleted') THEN
        RAISE EXCEPTION 'picloud_kv_write: unexpected event type %', p_type;
    END IF;
    IF NOT picloud_lock_for_direct_write(p_app_id, p_trigger_kinds) THEN
        RETURN QUERY SELECT 'triggers'::text, NULL::bigint, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;

    -- A deleted key keeps its stream (and version) but has no row.
    SELECT s.version INTO v_version FROM streams s WHERE s.stream = p_stream;
    SELECT k.value INTO v_prev FROM kv_entries k
     WHERE k.app_id = p_app_id AND k.collection = p_collection AND k.key = p_key;

    IF p_type = 'kv.deleted' THEN
        IF v_prev IS NULL THEN
            RETURN QUERY SELECT 'absent'::text, NULL::bigint, NULL::bigint, NULL::timestamptz;
            RETURN;
        END IF;
        v_data := v_data || jsonb_build_object('prev_value', v_prev);
    ELSE
        v_data := v_data || jsonb_build_object('prev_value', v_prev, 'created', v_prev IS NULL);
    END IF;

    SELECT a.o_position, a.o_version, a.o_recorded_at INTO v_pos, v_ver, v_at
      FROM picloud_append(p_stream, p_app_id, coalesce(v_version, 0), ARRAY[p_type],
                          ARRAY[p_schema_version], ARRAY[v_data::text], p_meta, p_actor,
                          p_correlation_id, p_causation_position, false, p_idempotency_key) a;
    IF v_ver IS NULL THEN
        RETURN QUERY SELECT 'duplicate'::text, v_pos, NULL::bigint, NULL::timestamptz;
        RETURN;
    ELSIF v_pos IS NULL THEN
        -- Cannot happen while the lock is held: the version was read under it.
        RETURN QUERY SELECT 'conflict'::text, NULL::bigint, v_ver, NULL::timestamptz;
        RETURN;
    END IF;

    IF p_type = 'kv.deleted' THEN
        DELETE FROM kv_entries
         WHERE app_id = p_app_id AND collection = p_collection AND key = p_key;
    ELSE
        INSERT INTO kv_entries (app_id, collection, key, value, version, created_at,
                                updated_at, last_position)
        VALUES (p_app_id, p_collection, p_key, v_data -> 'value', v_ver, v_at, v_at, v_pos)
        ON CONFLICT (app_id, collection, key) DO UPDATE SET value = EXCLUDED.value,
            version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,
            last_position = EXCLUDED.last_position;
    END IF;

    RETURN QUERY SELECT 'ok'::text, v_pos, v_ver, v_at;
END
$$;

CREATE FUNCTION picloud_docs_write(
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
    p_trigger_kinds text[]
) RETURNS TABLE (o_status text, o_position bigint, o_version bigint,
                 o_recorded_at timestamptz, o_created_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_expected bigint := 0;
    v_created  timestamptz;
    v_prev     jsonb;
    v_data     jsonb := p_data::jsonb;
    v_pos      bigint;
    v_ver      bigint;
    v_at       timestamptz;
BEGIN
    IF p_type NOT IN ('doc.created', 'doc.updated', 'doc.deleted') THEN
        RAISE EXCEPTION 'picloud_docs_write: unexpected event type %', p_type;
    END IF;
    IF NOT picloud_lock_for_direct_write(p_app_id, p_trigger_kinds) THEN
        RETURN QUERY SELECT 'triggers'::text, NULL::bigint, NULL::bigint, NULL::timestamptz,
                            NULL::timestamptz;
        RETURN;
    END IF;

    IF p_type <> 'doc.created' THEN
        SELECT d.data, d.version, d.created_at INTO v_prev, v_expected, v_created FROM docs d
         WHERE d.app_id = p_app_id AND d.collection = p_collection AND d.id = p_doc_id;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'absent'::text, NULL::bigint, NULL::bigint,
                                NULL::timestamptz, NULL::timestamptz;
            RETURN;
        END IF;
        v_data := v_data || jsonb_build_object('prev_data', v_prev);
    END IF;

    SELECT a.o_position, a.o_version, a.o_recorded_at INTO v_pos, v_ver, v_at
      FROM picloud_append(p_stream, p_app_id, v_expected, ARRAY[p_type],
                          ARRAY[p_schema_version], ARRAY[v_data::text], p_meta, p_actor,
                          p_correlation_id, p_causation_position, false, p_idempotency_key) a;
    IF v_ver IS NULL THEN
        RETURN QUERY SELECT 'duplicate'::text, v_pos, NULL::bigint, NULL::timestamptz,
                            NULL::timestamptz;
        RETURN;
    ELSIF v_pos IS NULL THEN
        RETURN QUERY SELECT 'conflict'::text, NULL::bigint, v_ver, NULL::timestamptz,
                            NULL::timestamptz;
        RETURN;
    END IF;

    IF p_type = 'doc.created' THEN
        v_created := v_at;
        INSERT INTO docs (app_id, collection, id, data, version, created_at, updated_at, seq,
                          last_position)
        VALUES (p_app_id, p_collection, p_doc_id, v_data -> 'data', v_ver, v_at, v_at, v_pos,
                v_pos);
    ELSIF p_type = 'doc.updated' THEN
        UPDATE docs SET data = v_data -> 'data', version = v_ver, updated_at = v_at,
                        last_position = v_pos
         WHERE app_id = p_app_id AND collection = p_collection AND id = p_doc_id;
    ELSE
        DELETE FROM docs
         WHERE app_id = p_app_id AND collection = p_collection AND id = p_doc_id;
    END IF;

    RETURN QUERY SELECT 'ok'::text, v_pos, v_ver, v_at, v_created;
END
$$;
