-- notify: read models, notifications, preferences, e-mails, webhooks.
-- Runs with search_path = notify.  Every consumed event is applied with
-- idempotent statements: read models keep the newest aggregate version,
-- and each channel has a unique key per (event, recipient), so a
-- redelivered event changes nothing.

-- ---- read models (from user-events, property-events, booking-events) ------------

CREATE TABLE notify.users (
    id          uuid PRIMARY KEY,
    email       text,
    name        text,
    version     bigint NOT NULL
);

CREATE TABLE notify.properties (
    id          uuid PRIMARY KEY,
    owner_id    uuid,
    title       text,
    status      text,
    version     bigint NOT NULL
);

-- Enough of each booking to find the tenant of a payment and the tenants
-- holding a future stay at a listing.
CREATE TABLE notify.stays (
    id          uuid PRIMARY KEY,
    property_id uuid,
    tenant_id   uuid,
    landlord_id uuid,
    check_in    date,
    status      text,
    version     bigint NOT NULL
);
CREATE INDEX stays_property ON notify.stays (property_id, check_in);

-- ---- preferences: a missing row means every channel is on --------------------------

CREATE TABLE notify.prefs (
    user_id     uuid NOT NULL,
    category    text NOT NULL,
    in_app      boolean NOT NULL DEFAULT true,
    email       boolean NOT NULL DEFAULT true,
    webhook     boolean NOT NULL DEFAULT true,
    PRIMARY KEY (user_id, category)
);

-- ---- the in-app channel --------------------------------------------------------------

CREATE TABLE notify.notifications (
    seq         bigserial PRIMARY KEY,            -- the cursor: newest first
    id          uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    event_id    uuid NOT NULL,
    user_id     uuid NOT NULL,
    category    text NOT NULL,
    type        text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    read_at     timestamptz,
    CONSTRAINT notifications_once UNIQUE (event_id, user_id)
);
CREATE INDEX notifications_user ON notify.notifications (user_id, seq);
CREATE INDEX notifications_unread ON notify.notifications (user_id, seq) WHERE read_at IS NULL;

CREATE FUNCTION notify.ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

CREATE FUNCTION notify.doc(n notify.notifications) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', n.id, 'event_id', n.event_id, 'category', n.category,
        'type', n.type, 'title', n.title, 'body', n.body, 'data', n.data,
        'read', n.read_at IS NOT NULL, 'read_at', notify.ts(n.read_at),
        'created_at', notify.ts(n.created_at)) $$;

-- ---- e-mail ------------------------------------------------------------------------------

CREATE TABLE notify.emails (
    id          bigserial PRIMARY KEY,
    event_id    uuid NOT NULL,
    user_id     uuid NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    state       text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sent', 'failed')),
    attempts    int NOT NULL DEFAULT 0,
    last_error  text,
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz,
    CONSTRAINT emails_once UNIQUE (event_id, user_id)
);

-- ---- webhooks ------------------------------------------------------------------------------

CREATE TABLE notify.webhooks (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id    uuid NOT NULL,
    url         text NOT NULL,
    secret      text NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    failures    int NOT NULL DEFAULT 0,          -- consecutive
    created_at  timestamptz NOT NULL,
    disabled_at timestamptz,
    deleted     boolean NOT NULL DEFAULT false
);
CREATE INDEX webhooks_owner ON notify.webhooks (owner_id) WHERE NOT deleted;

CREATE TABLE notify.deliveries (
    seq         bigserial PRIMARY KEY,
    id          uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    webhook_id  uuid NOT NULL REFERENCES notify.webhooks (id),
    event_id    uuid NOT NULL,
    type        text NOT NULL,
    body        text NOT NULL,                   -- the exact bytes signed and sent
    state       text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts    int NOT NULL DEFAULT 0,
    last_status int,
    last_error  text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT deliveries_once UNIQUE (webhook_id, event_id)
);
CREATE INDEX deliveries_webhook ON notify.deliveries (webhook_id, seq);

-- ---- fan-out ---------------------------------------------------------------------------------

-- Deliver one event's rendered notifications.  p_recipients is a JSON array
-- of {"role", "user_id", "title", "body"}; an empty user_id is resolved here
-- from the read models: landlord = owner of p_property (or landlord of
-- p_booking), tenant = tenant of p_booking, holders = every tenant with an
-- active stay at p_property that starts after p_now.  "{property}" in a
-- title or body becomes the listing's title.  For each recipient and
-- channel the user has on, one row (unique per event) and, for e-mail and
-- webhooks, one job.  Returns the in-app notifications created now (a
-- redelivery returns none): (user_id, doc).
CREATE FUNCTION notify.deliver(p_event uuid, p_type text, p_category text, p_recipients jsonb,
        p_data jsonb, p_property uuid, p_booking uuid, p_now timestamptz)
    RETURNS TABLE (o_user text, o_doc text) LANGUAGE plpgsql AS $$
DECLARE
    r record;
    u uuid;
    v_users uuid[];
    v_title text;
    v_body text;
    v_ptitle text;
    p notify.prefs;
    n notify.notifications;
    v_email bigint;
    w record;
    v_del bigint;
BEGIN
    SELECT coalesce(x.title, 'your listing') INTO v_ptitle FROM notify.properties x
     WHERE x.id = p_property;
    v_ptitle := coalesce(v_ptitle, 'the listing');
    FOR r IN SELECT * FROM jsonb_to_recordset(p_recipients)
             AS t(role text, user_id text, title text, body text) LOOP
        IF coalesce(r.user_id, '') <> '' THEN
            v_users := ARRAY[r.user_id::uuid];
        ELSIF r.role = 'landlord' THEN
            v_users := ARRAY[coalesce(
                (SELECT owner_id FROM notify.properties WHERE id = p_property),
                (SELECT landlord_id FROM notify.stays WHERE id = p_booking))];
        ELSIF r.role = 'tenant' THEN
            v_users := ARRAY[(SELECT tenant_id FROM notify.stays WHERE id = p_booking)];
        ELSIF r.role = 'holders' THEN
            v_users := ARRAY(SELECT DISTINCT s.tenant_id FROM notify.stays s
                              WHERE s.property_id = p_property AND s.tenant_id IS NOT NULL
                                AND s.status IN ('requested', 'pending_payment', 'confirmed')
                                AND s.check_in > (p_now AT TIME ZONE 'UTC')::date);
        ELSE
            v_users := '{}';
        END IF;
        v_title := replace(r.title, '{property}', v_ptitle);
        v_body := replace(r.body, '{property}', v_ptitle);
        FOREACH u IN ARRAY v_users LOOP
            CONTINUE WHEN u IS NULL;
            SELECT * INTO p FROM notify.prefs x WHERE x.user_id = u AND x.category = p_category;
            IF NOT FOUND THEN
                p := ROW(u, p_category, true, true, true);
            END IF;
            IF p.in_app THEN
                INSERT INTO notify.notifications (event_id, user_id, category, type, title, body,
                                                  data, created_at)
                VALUES (p_event, u, p_category, p_type, v_title, v_body, p_data, p_now)
                ON CONFLICT ON CONSTRAINT notifications_once DO NOTHING
                RETURNING * INTO n;
                IF FOUND THEN
                    o_user := u::text;
                    o_doc := notify.doc(n)::text;
                    RETURN NEXT;
                END IF;
            END IF;
            IF p.email THEN
                INSERT INTO notify.emails (event_id, user_id, subject, body, created_at)
                VALUES (p_event, u, v_title, v_body, p_now)
                ON CONFLICT ON CONSTRAINT emails_once DO NOTHING
                RETURNING id INTO v_email;
                IF FOUND THEN
                    INSERT INTO rentezy.jobs (plugin, kind, payload, run_at, state, created_at,
                                              updated_at)
                    VALUES ('notify', 'email', jsonb_build_object('id', v_email), p_now, 'due',
                            p_now, p_now);
                END IF;
            END IF;
            IF p.webhook THEN
                FOR w IN SELECT x.id FROM notify.webhooks x
                          WHERE x.owner_id = u AND x.enabled AND NOT x.deleted LOOP
                    INSERT INTO notify.deliveries (webhook_id, event_id, type, body, created_at,
                                                   updated_at)
                    VALUES (w.id, p_event, p_type, json_build_object(
                            'event_id', p_event, 'type', p_type, 'category', p_category,
                            'user_id', u, 'title', v_title, 'body', v_body,
                            'created_at', notify.ts(p_now), 'data', p_data)::text, p_now, p_now)
                    ON CONFLICT ON CONSTRAINT deliveries_once DO NOTHING
                    RETURNING seq INTO v_del;
                    IF FOUND THEN
                        INSERT INTO rentezy.jobs (plugin, kind, payload, run_at, state,
                                                  created_at, updated_at)
                        VALUES ('notify', 'webhook', jsonb_build_object('seq', v_del), p_now,
                                'due', p_now, p_now);
                    END IF;
                END LOOP;
            END IF;
        END LOOP;
    END LOOP;
END $$;
