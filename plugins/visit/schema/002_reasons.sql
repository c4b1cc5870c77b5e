-- visit 2: the reason given for a cancellation or a decline.  Runs with
-- search_path = visit, public.  Migration 1 is released and never edited:
-- functions are replaced here; the old signatures of answer and cancel
-- stay as wrappers for workers still running the previous plugin during a
-- rolling upgrade.

ALTER TABLE visit.visits ADD COLUMN reason text
    CONSTRAINT visits_reason CHECK (char_length(reason) BETWEEN 1 AND 500);

-- The slots of a listing in the order the list pages through them.
CREATE INDEX slots_property_page ON visit.slots (property_id, lower(during), id)
    WHERE status = 'open';

-- As in migration 1, plus "reason".
CREATE OR REPLACE FUNCTION visit.doc(v visit.visits) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', v.id, 'slot_id', v.slot_id, 'property_id', v.property_id,
        'landlord_id', v.landlord_id, 'tenant_id', v.tenant_id,
        'starts_at', to_char(lower(v.during) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'ends_at', to_char(upper(v.during) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'status', v.status, 'cancelled_by', v.cancelled_by, 'reason', v.reason,
        'version', v.version,
        'created_at', to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'updated_at', to_char(v.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) $$;

-- The landlord confirms or declines (with an optional reason); a
-- confirmation schedules the reminders 24 h and 1 h before (those still
-- ahead).  o_outcome: ok (o_body), not_found, not_owner, state (o_detail).
CREATE FUNCTION visit.answer(p_id uuid, p_user uuid, p_confirm boolean, p_now_ms bigint,
        p_trace text, p_reason text, OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE
    v visit.visits;
    v_now timestamptz := visit.ts(p_now_ms);
BEGIN
    SELECT * INTO v FROM visit.visits WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR (v.tenant_id <> p_user AND v.landlord_id <> p_user) THEN
        o_outcome := 'not_found'; RETURN;
    ELSIF v.landlord_id <> p_user THEN
        o_outcome := 'not_owner'; RETURN;
    ELSIF v.status <> 'requested' THEN
        o_outcome := 'state'; o_detail := v.status; RETURN;
    END IF;
    UPDATE visit.visits SET status = CASE WHEN p_confirm THEN 'confirmed' ELSE 'declined' END,
        reason = CASE WHEN p_confirm THEN NULL ELSE p_reason END,
        version = version + 1, updated_at = v_now
     WHERE id = p_id RETURNING * INTO v;
    PERFORM visit.emit(v, CASE WHEN p_confirm THEN 'visit.confirmed' ELSE 'visit.declined' END,
                       NULL, p_trace);
    IF p_confirm THEN
        INSERT INTO rentezy.jobs (plugin, kind, payload, run_at, state, created_at, updated_at)
        SELECT 'visit', 'remind', jsonb_build_object('visit_id', v.id, 'before', r.name),
               lower(v.during) - r.ahead, 'due', v_now, v_now
          FROM (VALUES ('24h', interval '24 hours'), ('1h', interval '1 hour')) r (name, ahead)
         WHERE lower(v.during) - r.ahead > v_now;
    END IF;
    o_outcome := 'ok';
    o_body := visit.doc(v)::text;
END $$;

CREATE OR REPLACE FUNCTION visit.answer(p_id uuid, p_user uuid, p_confirm boolean,
        p_now_ms bigint, p_trace text, OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE sql AS $$ SELECT * FROM visit.answer(p_id, p_user, p_confirm, p_now_ms, p_trace, NULL) $$;

-- Either party cancels a requested or confirmed visit before it begins,
-- with an optional reason.  o_outcome: ok (o_body), not_found, state
-- (o_detail), started.
CREATE FUNCTION visit.cancel(p_id uuid, p_user uuid, p_now_ms bigint, p_trace text,
        p_reason text, OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE
    v visit.visits;
    v_now timestamptz := visit.ts(p_now_ms);
BEGIN
    SELECT * INTO v FROM visit.visits WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR (v.tenant_id <> p_user AND v.landlord_id <> p_user) THEN
        o_outcome := 'not_found'; RETURN;
    ELSIF v.status NOT IN ('requested', 'confirmed') THEN
        o_outcome := 'state'; o_detail := v.status; RETURN;
    ELSIF lower(v.during) <= v_now THEN
        o_outcome := 'started'; RETURN;
    END IF;
    UPDATE visit.visits SET status = 'cancelled',
        cancelled_by = CASE WHEN landlord_id = p_user THEN 'landlord' ELSE 'tenant' END,
        reason = p_reason, version = version + 1, updated_at = v_now
     WHERE id = p_id RETURNING * INTO v;
    PERFORM visit.emit(v, 'visit.cancelled', NULL, p_trace);
    o_outcome := 'ok';
    o_body := visit.doc(v)::text;
END $$;

CREATE OR REPLACE FUNCTION visit.cancel(p_id uuid, p_user uuid, p_now_ms bigint, p_trace text,
        OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE sql AS $$ SELECT * FROM visit.cancel(p_id, p_user, p_now_ms, p_trace, NULL) $$;
