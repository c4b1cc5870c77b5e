-- notify 002: the job kinds come from the caller.  A notify deployment
-- ([plugin.notify] group) claims only its own e-mail and webhook jobs, so
-- daemons with another configuration (another SMTP relay, a test's sinks)
-- sharing the database never send each other's messages.

DROP FUNCTION notify.deliver(uuid, text, text, jsonb, jsonb, uuid, uuid, timestamptz);

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
        p_data jsonb, p_property uuid, p_booking uuid, p_now timestamptz, p_email_kind text,
        p_webhook_kind text)
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
                    VALUES ('notify', p_email_kind, jsonb_build_object('id', v_email), p_now, 'due',
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
                        VALUES ('notify', p_webhook_kind, jsonb_build_object('seq', v_del), p_now,
                                'due', p_now, p_now);
                    END IF;
                END LOOP;
            END IF;
        END LOOP;
    END LOOP;
END $$;
