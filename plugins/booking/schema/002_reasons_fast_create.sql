-- booking 2: the reason given for a cancellation or a decline, and a
-- cheaper booking.create.  Runs with search_path = booking, public.
--
-- Migration 1 is released and never edited (its checksum is recorded):
-- functions are replaced here.  The old signatures of answer and cancel
-- stay, as wrappers, so that a worker still running the previous plugin
-- during a rolling upgrade keeps working.

-- Why the booking was cancelled or declined, as the person who did it
-- wrote it (the plugin checks 1 to 500 characters; the table holds it).
ALTER TABLE booking.bookings ADD COLUMN reason text
    CONSTRAINT bookings_reason CHECK (char_length(reason) BETWEEN 1 AND 500);

-- As in migration 1, plus "reason".  One inlinable expression.
CREATE OR REPLACE FUNCTION booking.doc(b booking.bookings, p_now_ms bigint) RETURNS json
    LANGUAGE sql STABLE AS $$ SELECT json_build_object(
        'id', b.id,
        'property_id', b.property_id,
        'tenant_id', b.tenant_id,
        'landlord_id', b.landlord_id,
        'check_in', lower(b.stay),
        'check_out', upper(b.stay),
        'nights', upper(b.stay) - lower(b.stay),
        'guests', b.guests,
        'status', CASE WHEN p_now_ms IS NOT NULL AND b.status IN ('requested', 'pending_payment')
                            AND b.expires_at <= to_timestamp(p_now_ms / 1000.0) THEN 'expired'
                       ELSE b.status END,
        'nightly_price', json_build_object('amount', b.nightly_amount, 'currency', b.currency),
        'total', json_build_object('amount', b.total_amount, 'currency', b.currency),
        'cancellation_policy', b.policy,
        'expires_at', CASE WHEN b.status IN ('requested', 'pending_payment') THEN
                      to_char(b.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END,
        'payment_id', b.payment_id,
        'refund', CASE WHEN b.refund_amount IS NOT NULL THEN
                  json_build_object('amount', b.refund_amount, 'currency', b.currency) END,
        'cancelled_by', b.cancelled_by,
        'reason', b.reason,
        'version', b.version,
        'created_at', to_char(b.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'updated_at', to_char(b.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) $$;

-- ---- create ---------------------------------------------------------------------
-- The same rules and outcomes as migration 1.  Every statement is written
-- out here instead of calling booking.expire_holds and booking.enqueue:
-- PL/pgSQL caches the plan of its own statements per connection, whereas a
-- SQL-language function called from it (enqueue) is parsed and planned
-- again on every call, and expire_holds ran a second, useless UPDATE.
-- Measured with pgbench on this machine: about 25 % more bookings per
-- second (docs/decisions/0008-booking.md).
CREATE OR REPLACE FUNCTION booking.create(p_id uuid, p_tenant uuid, p_property uuid, p_in date,
        p_out date, p_guests int, p_now_ms bigint, p_hold_ms bigint, p_request_ms bigint,
        p_trace text, OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE
    l booking.listings;
    b booking.bookings;
    x booking.bookings;
    v_now timestamptz := to_timestamp(p_now_ms / 1000.0);
    v_stay daterange := daterange(p_in, p_out);
    v_nights int := p_out - p_in;
    v_clash daterange;
    v_doc json;
BEGIN
    SELECT * INTO l FROM booking.listings WHERE id = p_property;
    IF NOT FOUND OR l.status <> 'published' THEN
        o_outcome := 'not_found'; RETURN;
    ELSIF l.owner_id = p_tenant THEN
        o_outcome := 'own_listing'; RETURN;
    ELSIF l.nightly_amount IS NULL THEN
        o_outcome := 'not_bookable'; RETURN;
    ELSIF p_guests > l.max_guests THEN
        o_outcome := 'too_many_guests'; o_detail := l.max_guests; RETURN;
    ELSIF v_nights < l.min_nights THEN
        o_outcome := 'min_nights'; o_detail := l.min_nights; RETURN;
    ELSIF v_nights > l.max_nights THEN
        o_outcome := 'max_nights'; o_detail := l.max_nights; RETURN;
    ELSIF p_in < (v_now AT TIME ZONE 'UTC')::date + l.advance_notice_days THEN
        o_outcome := 'advance_notice'; o_detail := l.advance_notice_days; RETURN;
    ELSIF l.blocks && v_stay THEN
        SELECT r INTO v_clash FROM unnest(l.blocks) r WHERE r && v_stay ORDER BY r LIMIT 1;
        o_outcome := 'blocked'; o_detail := lower(v_clash) || ' ' || upper(v_clash); RETURN;
    END IF;
    -- Holds past their deadline no longer own their dates, job run or not
    -- (the same UPDATE as booking.expire_holds: whichever runs first wins,
    -- and booking.expired is published once).
    FOR x IN UPDATE booking.bookings y SET status = 'expired', version = y.version + 1,
                    updated_at = v_now
              WHERE y.property_id = p_property AND y.stay && v_stay
                AND y.status IN ('requested', 'pending_payment') AND y.expires_at <= v_now
              RETURNING y.*
    LOOP
        PERFORM booking.emit(x, 'booking.expired', p_trace);
    END LOOP;
    INSERT INTO booking.bookings (id, property_id, tenant_id, landlord_id, stay, guests, status,
        nightly_amount, total_amount, currency, policy, expires_at, created_at, updated_at)
    VALUES (p_id, p_property, p_tenant, l.owner_id, v_stay, p_guests,
        CASE WHEN l.instant_book THEN 'pending_payment' ELSE 'requested' END,
        l.nightly_amount, l.nightly_amount * v_nights, l.currency, l.cancellation_policy,
        to_timestamp((p_now_ms + CASE WHEN l.instant_book THEN p_hold_ms ELSE p_request_ms END)
                     / 1000.0),
        v_now, v_now)
    ON CONFLICT DO NOTHING
    RETURNING * INTO b;
    IF NOT FOUND THEN
        -- the exclusion constraint (it waited for a concurrent insert and
        -- found it committed); name the range that is in the way
        SELECT y.stay INTO v_clash FROM booking.bookings y
         WHERE y.property_id = p_property AND y.stay && v_stay
           AND y.status IN ('requested', 'pending_payment', 'confirmed', 'completed')
         ORDER BY lower(y.stay) LIMIT 1;
        o_outcome := 'dates_unavailable';
        o_detail := lower(v_clash) || ' ' || upper(v_clash);
        RETURN;
    END IF;
    -- a new booking is not expired: the event's document is the answer
    v_doc := booking.doc(b, NULL);
    PERFORM rentezy.publish('booking-events', CASE WHEN b.status = 'requested'
        THEN 'booking.requested' ELSE 'booking.held' END, 'booking', b.id::text, b.version,
        v_doc::jsonb, p_trace);
    INSERT INTO rentezy.jobs (plugin, kind, payload, run_at, state, created_at, updated_at)
    VALUES ('booking', 'expire', jsonb_build_object('booking_id', b.id), b.expires_at, 'due',
            v_now, v_now);
    o_outcome := 'created';
    o_body := v_doc::text;
END $$;

-- ---- the landlord answers a request, with an optional reason for a decline ------------

-- o_outcome: ok (o_body), not_found, not_owner (tenant of it: 403),
-- state (o_detail the status), expired.
CREATE FUNCTION booking.answer(p_id uuid, p_user uuid, p_accept boolean, p_now_ms bigint,
        p_hold_ms bigint, p_trace text, p_reason text,
        OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE
    b booking.bookings;
    v_now timestamptz := booking.ts(p_now_ms);
BEGIN
    SELECT * INTO b FROM booking.bookings WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR (b.tenant_id <> p_user AND b.landlord_id <> p_user) THEN
        o_outcome := 'not_found'; RETURN;
    ELSIF b.landlord_id <> p_user THEN
        o_outcome := 'not_owner'; RETURN;
    ELSIF booking.holds(b.status) AND b.expires_at <= v_now THEN
        PERFORM booking.expire_holds(NULL, NULL, p_id, p_now_ms, p_trace);
        o_outcome := 'expired'; RETURN;
    ELSIF b.status = 'expired' THEN
        o_outcome := 'expired'; RETURN;
    ELSIF b.status <> 'requested' THEN
        o_outcome := 'state'; o_detail := b.status; RETURN;
    END IF;
    UPDATE booking.bookings SET
        status = CASE WHEN p_accept THEN 'pending_payment' ELSE 'declined' END,
        expires_at = CASE WHEN p_accept THEN booking.ts(p_now_ms + p_hold_ms) END,
        reason = CASE WHEN p_accept THEN NULL ELSE p_reason END,
        version = version + 1, updated_at = v_now
     WHERE id = p_id RETURNING * INTO b;
    IF p_accept THEN
        PERFORM booking.emit(b, 'booking.held', p_trace);
        PERFORM booking.enqueue('expire', b.id, b.expires_at, v_now);
    ELSE
        PERFORM booking.emit(b, 'booking.declined', p_trace);
    END IF;
    o_outcome := 'ok';
    o_body := booking.doc(b, p_now_ms)::text;
END $$;

CREATE OR REPLACE FUNCTION booking.answer(p_id uuid, p_user uuid, p_accept boolean,
        p_now_ms bigint, p_hold_ms bigint, p_trace text,
        OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE sql AS $$
    SELECT * FROM booking.answer(p_id, p_user, p_accept, p_now_ms, p_hold_ms, p_trace, NULL) $$;

-- ---- cancellation, with an optional reason ----------------------------------------

-- o_outcome: ok (o_body), not_found, state (o_detail), expired, started.
-- booking.cancelled carries the refund, who cancelled and the reason.
CREATE FUNCTION booking.cancel(p_id uuid, p_user uuid, p_now_ms bigint, p_trace text,
        p_reason text, OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE
    b booking.bookings;
    v_now timestamptz := booking.ts(p_now_ms);
    v_by text;
BEGIN
    SELECT * INTO b FROM booking.bookings WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR (b.tenant_id <> p_user AND b.landlord_id <> p_user) THEN
        o_outcome := 'not_found'; RETURN;
    ELSIF booking.holds(b.status) AND b.expires_at <= v_now THEN
        PERFORM booking.expire_holds(NULL, NULL, p_id, p_now_ms, p_trace);
        o_outcome := 'expired'; RETURN;
    ELSIF b.status = 'expired' THEN
        o_outcome := 'expired'; RETURN;
    ELSIF b.status NOT IN ('requested', 'pending_payment', 'confirmed') THEN
        o_outcome := 'state'; o_detail := b.status; RETURN;
    ELSIF (v_now AT TIME ZONE 'UTC')::date >= lower(b.stay) THEN
        o_outcome := 'started'; RETURN;
    END IF;
    v_by := CASE WHEN b.landlord_id = p_user THEN 'landlord' ELSE 'tenant' END;
    UPDATE booking.bookings SET status = 'cancelled', cancelled_by = v_by, reason = p_reason,
        refund_amount = booking.refund(b, v_by, p_now_ms), expires_at = NULL,
        version = version + 1, updated_at = v_now
     WHERE id = p_id RETURNING * INTO b;
    PERFORM booking.emit(b, 'booking.cancelled', p_trace);
    o_outcome := 'ok';
    o_body := booking.doc(b, p_now_ms)::text;
END $$;

CREATE OR REPLACE FUNCTION booking.cancel(p_id uuid, p_user uuid, p_now_ms bigint, p_trace text,
        OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE sql AS $$ SELECT * FROM booking.cancel(p_id, p_user, p_now_ms, p_trace, NULL) $$;
