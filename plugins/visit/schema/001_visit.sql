-- visit 1: viewing slots and the visits booked into them.  Runs with
-- search_path = visit, public.  Times come from the host clock (p_now_ms),
-- never now(), so tests can move them.  Writes publish on visit-events and
-- schedule reminder jobs in their own transaction.

-- What visit needs to know about a listing, from property-events.
CREATE TABLE visit.listings (
    id       uuid PRIMARY KEY,
    version  bigint NOT NULL,
    owner_id uuid NOT NULL,
    status   text NOT NULL
);

-- A landlord is in one place at a time: their open slots never overlap.
CREATE TABLE visit.slots (
    id          uuid PRIMARY KEY,
    property_id uuid NOT NULL,
    landlord_id uuid NOT NULL,
    during      tstzrange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during)
                                          AND NOT upper_inf(during)),
    status      text NOT NULL CHECK (status IN ('open', 'withdrawn')),
    created_at  timestamptz NOT NULL,
    CONSTRAINT slots_no_overlap EXCLUDE USING gist (landlord_id WITH =, during WITH &&)
        WHERE (status = 'open')
);
CREATE INDEX slots_property ON visit.slots (property_id, lower(during));

CREATE TABLE visit.visits (
    id           uuid PRIMARY KEY,
    slot_id      uuid NOT NULL REFERENCES visit.slots (id),
    property_id  uuid NOT NULL,
    landlord_id  uuid NOT NULL,
    tenant_id    uuid NOT NULL,
    during       tstzrange NOT NULL,
    status       text NOT NULL CHECK (status IN ('requested', 'confirmed', 'declined', 'cancelled')),
    cancelled_by text CHECK (cancelled_by IN ('tenant', 'landlord')),
    reminded     text[] NOT NULL DEFAULT '{}',   -- reminders already published: 24h, 1h
    version      bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
-- A slot never goes to two tenants: one live visit per slot.
CREATE UNIQUE INDEX visits_one_per_slot ON visit.visits (slot_id)
    WHERE status IN ('requested', 'confirmed');
CREATE INDEX visits_tenant ON visit.visits (tenant_id, created_at DESC, id DESC);
CREATE INDEX visits_landlord ON visit.visits (landlord_id, created_at DESC, id DESC);

CREATE FUNCTION visit.ts(ms bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT to_timestamp(ms / 1000.0) $$;

-- The JSON of a visit: the API's answer and the events' data.
CREATE FUNCTION visit.doc(v visit.visits) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', v.id, 'slot_id', v.slot_id, 'property_id', v.property_id,
        'landlord_id', v.landlord_id, 'tenant_id', v.tenant_id,
        'starts_at', to_char(lower(v.during) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'ends_at', to_char(upper(v.during) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'status', v.status, 'cancelled_by', v.cancelled_by, 'version', v.version,
        'created_at', to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'updated_at', to_char(v.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) $$;

CREATE FUNCTION visit.slot_doc(s visit.slots, p_taken boolean) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', s.id, 'property_id', s.property_id,
        'starts_at', to_char(lower(s.during) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'ends_at', to_char(upper(s.during) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'status', s.status, 'available', s.status = 'open' AND NOT p_taken) $$;

CREATE FUNCTION visit.emit(v visit.visits, p_type text, p_extra jsonb, p_trace text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rentezy.publish('visit-events', p_type, 'visit', v.id::text, v.version,
                            visit.doc(v)::jsonb || coalesce(p_extra, '{}'), p_trace);
END $$;

CREATE FUNCTION visit.apply_listing(p_id uuid, p_version bigint, s jsonb) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO visit.listings AS l (id, version, owner_id, status)
    VALUES (p_id, p_version, (s->>'owner_id')::uuid, coalesce(s->>'status', 'draft'))
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, owner_id = EXCLUDED.owner_id,
        status = EXCLUDED.status
        WHERE l.version < EXCLUDED.version;
    RETURN CASE WHEN FOUND THEN 'applied' ELSE 'stale' END;
END $$;

-- o_outcome: created (o_body), not_found (no published listing of the
-- caller), overlap (o_detail: the slot in the way).
CREATE FUNCTION visit.add_slot(p_id uuid, p_user uuid, p_property uuid, p_start_ms bigint,
        p_end_ms bigint, p_now_ms bigint, OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE
    s visit.slots;
BEGIN
    PERFORM 1 FROM visit.listings WHERE id = p_property AND owner_id = p_user
                                    AND status = 'published';
    IF NOT FOUND THEN
        o_outcome := 'not_found'; RETURN;
    END IF;
    INSERT INTO visit.slots (id, property_id, landlord_id, during, status, created_at)
    VALUES (p_id, p_property, p_user, tstzrange(visit.ts(p_start_ms), visit.ts(p_end_ms)), 'open',
            visit.ts(p_now_ms))
    ON CONFLICT DO NOTHING RETURNING * INTO s;
    IF NOT FOUND THEN
        SELECT x.id::text INTO o_detail FROM visit.slots x
         WHERE x.landlord_id = p_user AND x.status = 'open'
           AND x.during && tstzrange(visit.ts(p_start_ms), visit.ts(p_end_ms)) LIMIT 1;
        o_outcome := 'overlap'; RETURN;
    END IF;
    o_outcome := 'created';
    o_body := visit.slot_doc(s, false)::text;
END $$;

-- o_outcome: created (o_body), not_found, own (the landlord's own slot),
-- started (the slot has begun), taken (another tenant has it).
CREATE FUNCTION visit.request(p_id uuid, p_slot uuid, p_tenant uuid, p_now_ms bigint,
        p_trace text, OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE
    s visit.slots;
    v visit.visits;
    v_now timestamptz := visit.ts(p_now_ms);
BEGIN
    SELECT * INTO s FROM visit.slots WHERE id = p_slot AND status = 'open';
    IF NOT FOUND THEN
        o_outcome := 'not_found'; RETURN;
    ELSIF s.landlord_id = p_tenant THEN
        o_outcome := 'own'; RETURN;
    ELSIF lower(s.during) <= v_now THEN
        o_outcome := 'started'; RETURN;
    END IF;
    INSERT INTO visit.visits (id, slot_id, property_id, landlord_id, tenant_id, during, status,
                              created_at, updated_at)
    VALUES (p_id, s.id, s.property_id, s.landlord_id, p_tenant, s.during, 'requested',
            v_now, v_now)
    ON CONFLICT DO NOTHING RETURNING * INTO v;
    IF NOT FOUND THEN
        o_outcome := 'taken'; RETURN;
    END IF;
    PERFORM visit.emit(v, 'visit.requested', NULL, p_trace);
    o_outcome := 'created';
    o_body := visit.doc(v)::text;
END $$;

-- The landlord confirms or declines; a confirmation schedules the
-- reminders 24 h and 1 h before (those still ahead).
-- o_outcome: ok (o_body), not_found, not_owner, state (o_detail).
CREATE FUNCTION visit.answer(p_id uuid, p_user uuid, p_confirm boolean, p_now_ms bigint,
        p_trace text, OUT o_outcome text, OUT o_detail text, OUT o_body text)
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

-- Either party cancels a requested or confirmed visit before it begins.
-- o_outcome: ok (o_body), not_found, state (o_detail), started.
CREATE FUNCTION visit.cancel(p_id uuid, p_user uuid, p_now_ms bigint, p_trace text,
        OUT o_outcome text, OUT o_detail text, OUT o_body text)
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
        version = version + 1, updated_at = v_now
     WHERE id = p_id RETURNING * INTO v;
    PERFORM visit.emit(v, 'visit.cancelled', NULL, p_trace);
    o_outcome := 'ok';
    o_body := visit.doc(v)::text;
END $$;

-- A reminder job: publishes visit.reminder once per (visit, before) while
-- the visit is confirmed.  'sent' or 'no'.
CREATE FUNCTION visit.remind(p_id uuid, p_before text, p_now_ms bigint) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v visit.visits;
BEGIN
    UPDATE visit.visits SET reminded = reminded || p_before
     WHERE id = p_id AND status = 'confirmed' AND NOT (p_before = ANY (reminded))
    RETURNING * INTO v;
    IF NOT FOUND THEN
        RETURN 'no';
    END IF;
    PERFORM visit.emit(v, 'visit.reminder', jsonb_build_object('before', p_before), NULL);
    RETURN 'sent';
END $$;
