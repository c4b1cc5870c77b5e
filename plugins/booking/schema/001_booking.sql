-- booking 1: the read model of listings, bookings, payments seen.  Runs with
-- search_path = booking, public.  Every function is called by the plugin
-- with the host clock in milliseconds (p_now_ms), never now(): tests move
-- the host clock, and deadlines must follow it.
--
-- Writes publish on booking-events through rentezy.publish in the same
-- transaction, and schedule their jobs by inserting into rentezy.jobs in it:
-- an event or a job exists if and only if the change committed.

-- What booking needs to know about a listing, from property-events (never
-- from the property plugin's tables).  Applied idempotently: an event
-- older than the row (version) changes nothing.
CREATE TABLE booking.listings (
    id                  uuid PRIMARY KEY,
    version             bigint NOT NULL,
    owner_id            uuid NOT NULL,
    status              text NOT NULL,               -- draft, published, deleted
    title               text NOT NULL DEFAULT '',
    nightly_amount      bigint,                      -- minor units; NULL: monthly only
    currency            char(3),
    min_nights          int NOT NULL DEFAULT 1,
    max_nights          int,
    max_guests          int NOT NULL DEFAULT 1,
    instant_book        boolean NOT NULL DEFAULT false,
    cancellation_policy text NOT NULL DEFAULT 'moderate',
    advance_notice_days int NOT NULL DEFAULT 0,
    blocks              datemultirange NOT NULL DEFAULT '{}',  -- blackout nights
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- A stay is the half-open range of nights [check_in, check_out): back to
-- back stays do not overlap.  The statuses that hold or own the dates are
-- the ones of the exclusion constraint: two of them can never overlap on
-- one property, whatever the code above it does.
CREATE TABLE booking.bookings (
    id             uuid PRIMARY KEY,
    property_id    uuid NOT NULL,
    tenant_id      uuid NOT NULL,
    landlord_id    uuid NOT NULL,
    stay           daterange NOT NULL,
    guests         int NOT NULL CHECK (guests >= 1),
    status         text NOT NULL CHECK (status IN ('requested', 'pending_payment', 'confirmed',
                       'declined', 'expired', 'cancelled', 'completed')),
    version        bigint NOT NULL DEFAULT 1,
    nightly_amount bigint NOT NULL CHECK (nightly_amount > 0),
    total_amount   bigint NOT NULL CHECK (total_amount > 0),
    currency       char(3) NOT NULL,
    policy         text NOT NULL CHECK (policy IN ('flexible', 'moderate', 'strict')),
    expires_at     timestamptz,        -- deadline of requested / pending_payment
    payment_id     text,
    refund_amount  bigint,             -- set by cancellation
    cancelled_by   text CHECK (cancelled_by IN ('tenant', 'landlord')),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT bookings_stay CHECK (NOT isempty(stay) AND lower_inc(stay) AND NOT upper_inc(stay)
                                    AND NOT lower_inf(stay) AND NOT upper_inf(stay)),
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (property_id WITH =, stay WITH &&)
        WHERE (status IN ('requested', 'pending_payment', 'confirmed', 'completed'))
);
CREATE INDEX bookings_tenant ON booking.bookings (tenant_id, created_at DESC, id DESC);
CREATE INDEX bookings_landlord ON booking.bookings (landlord_id, created_at DESC, id DESC);

-- Every payment.succeeded seen, by payment id: a redelivered event is
-- recognised and changes nothing.
CREATE TABLE booking.payments (
    payment_id  text PRIMARY KEY,
    booking_id  uuid,
    outcome     text NOT NULL,         -- confirmed, refund, unknown
    amount      bigint,
    currency    text,
    received_at timestamptz NOT NULL
);

-- The statuses that hold dates; holds are the two with a deadline.
CREATE FUNCTION booking.holds(s text) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS $$ SELECT s IN ('requested', 'pending_payment') $$;

CREATE FUNCTION booking.ts(ms bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT to_timestamp(ms / 1000.0) $$;

-- The one JSON form of a booking: the API's answer and every event's data.
-- With p_now_ms, a hold read after its deadline shows as expired even
-- before the expiry job ran; events pass NULL and carry the stored status.
-- One expression without calls of other SQL functions, so that PostgreSQL
-- inlines it (nested non-inlined calls made it cost three times as much).
CREATE FUNCTION booking.doc(b booking.bookings, p_now_ms bigint) RETURNS json
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
        'version', b.version,
        'created_at', to_char(b.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'updated_at', to_char(b.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) $$;

CREATE FUNCTION booking.emit(b booking.bookings, p_type text, p_trace text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rentezy.publish('booking-events', p_type, 'booking', b.id::text, b.version,
                            booking.doc(b, NULL)::jsonb, p_trace);
END $$;

CREATE FUNCTION booking.enqueue(p_kind text, p_id uuid, p_run_at timestamptz, p_now timestamptz)
    RETURNS void LANGUAGE sql AS $$
    INSERT INTO rentezy.jobs (plugin, kind, payload, run_at, state, created_at, updated_at)
    VALUES ('booking', p_kind, json_build_object('booking_id', p_id)::jsonb, p_run_at, 'due',
            p_now, p_now) $$;

-- ---- the read model -------------------------------------------------------------

-- Apply a listing snapshot of property-events.  'applied' or 'stale'.
CREATE FUNCTION booking.apply_listing(p_id uuid, p_version bigint, s jsonb) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_blocks datemultirange;
BEGIN
    SELECT coalesce(range_agg(daterange((e->>'start')::date, (e->>'end')::date)), '{}')
      INTO v_blocks
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(s->'blocks') = 'array'
                                     THEN s->'blocks' ELSE '[]' END) e;
    INSERT INTO booking.listings AS l (id, version, owner_id, status, title, nightly_amount,
        currency, min_nights, max_nights, max_guests, instant_book, cancellation_policy,
        advance_notice_days, blocks, updated_at)
    VALUES (p_id, p_version, (s->>'owner_id')::uuid, coalesce(s->>'status', 'draft'),
        coalesce(s->>'title', ''), (s->'nightly_price'->>'amount')::bigint,
        s->'nightly_price'->>'currency', coalesce((s->>'min_nights')::int, 1),
        (s->>'max_nights')::int, coalesce((s->>'max_guests')::int, 1),
        coalesce((s->>'instant_book')::boolean, false),
        coalesce(s->>'cancellation_policy', 'moderate'),
        coalesce((s->>'advance_notice_days')::int, 0), v_blocks, now())
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, owner_id = EXCLUDED.owner_id,
        status = EXCLUDED.status, title = EXCLUDED.title,
        nightly_amount = EXCLUDED.nightly_amount, currency = EXCLUDED.currency,
        min_nights = EXCLUDED.min_nights, max_nights = EXCLUDED.max_nights,
        max_guests = EXCLUDED.max_guests, instant_book = EXCLUDED.instant_book,
        cancellation_policy = EXCLUDED.cancellation_policy,
        advance_notice_days = EXCLUDED.advance_notice_days, blocks = EXCLUDED.blocks,
        updated_at = now()
        WHERE l.version < EXCLUDED.version;
    RETURN CASE WHEN FOUND THEN 'applied' ELSE 'stale' END;
END $$;

-- ---- expiry ---------------------------------------------------------------------

-- Expire the holds of one property that overlap p_stay and passed their
-- deadline (p_id NULL), or the one hold p_id; publishes booking.expired for
-- each.  Returns how many expired.
CREATE FUNCTION booking.expire_holds(p_property uuid, p_stay daterange, p_id uuid,
                                     p_now_ms bigint, p_trace text) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    b booking.bookings;
    n int := 0;
    v_now timestamptz := booking.ts(p_now_ms);
BEGIN
    -- two statements, not one with an OR: each must use its index (the
    -- primary key; the exclusion constraint's gist index)
    FOR b IN UPDATE booking.bookings x SET status = 'expired', version = x.version + 1,
                    updated_at = v_now
              WHERE x.id = p_id AND x.status IN ('requested', 'pending_payment')
                AND x.expires_at <= v_now
              RETURNING x.*
    LOOP
        PERFORM booking.emit(b, 'booking.expired', p_trace);
        n := n + 1;
    END LOOP;
    FOR b IN UPDATE booking.bookings x SET status = 'expired', version = x.version + 1,
                    updated_at = v_now
              WHERE p_id IS NULL AND x.property_id = p_property AND x.stay && p_stay
                AND x.status IN ('requested', 'pending_payment') AND x.expires_at <= v_now
              RETURNING x.*
    LOOP
        PERFORM booking.emit(b, 'booking.expired', p_trace);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- ---- create ---------------------------------------------------------------------

-- o_outcome: created (o_body), not_found, own_listing, not_bookable,
-- too_many_guests, min_nights, max_nights, advance_notice (o_detail the
-- limit), blocked, dates_unavailable (o_detail the conflicting range as
-- "check_in check_out").
CREATE FUNCTION booking.create(p_id uuid, p_tenant uuid, p_property uuid, p_in date, p_out date,
        p_guests int, p_now_ms bigint, p_hold_ms bigint, p_request_ms bigint, p_trace text,
        OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE
    l booking.listings;
    b booking.bookings;
    v_now timestamptz := booking.ts(p_now_ms);
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
    -- Holds past their deadline no longer own their dates, job run or not.
    PERFORM booking.expire_holds(p_property, v_stay, NULL, p_now_ms, p_trace);
    INSERT INTO booking.bookings (id, property_id, tenant_id, landlord_id, stay, guests, status,
        nightly_amount, total_amount, currency, policy, expires_at, created_at, updated_at)
    VALUES (p_id, p_property, p_tenant, l.owner_id, v_stay, p_guests,
        CASE WHEN l.instant_book THEN 'pending_payment' ELSE 'requested' END,
        l.nightly_amount, l.nightly_amount * v_nights, l.currency, l.cancellation_policy,
        booking.ts(p_now_ms + CASE WHEN l.instant_book THEN p_hold_ms ELSE p_request_ms END),
        v_now, v_now)
    ON CONFLICT DO NOTHING
    RETURNING * INTO b;
    IF NOT FOUND THEN
        -- the exclusion constraint (it waited for a concurrent insert and
        -- found it committed); name the range that is in the way
        SELECT x.stay INTO v_clash FROM booking.bookings x
         WHERE x.property_id = p_property AND x.stay && v_stay
           AND x.status IN ('requested', 'pending_payment', 'confirmed', 'completed')
         ORDER BY lower(x.stay) LIMIT 1;
        o_outcome := 'dates_unavailable';
        o_detail := lower(v_clash) || ' ' || upper(v_clash);
        RETURN;
    END IF;
    -- a new booking is not expired: the event's document is the answer
    v_doc := booking.doc(b, NULL);
    PERFORM rentezy.publish('booking-events', CASE WHEN b.status = 'requested'
        THEN 'booking.requested' ELSE 'booking.held' END, 'booking', b.id::text, b.version,
        v_doc::jsonb, p_trace);
    PERFORM booking.enqueue('expire', b.id, b.expires_at, v_now);
    o_outcome := 'created';
    o_body := v_doc::text;
END $$;

-- ---- the landlord answers a request ----------------------------------------------

-- o_outcome: ok (o_body), not_found, not_owner (tenant of it: 403),
-- state (o_detail the status), expired.
CREATE FUNCTION booking.answer(p_id uuid, p_user uuid, p_accept boolean, p_now_ms bigint,
        p_hold_ms bigint, p_trace text, OUT o_outcome text, OUT o_detail text, OUT o_body text)
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

-- ---- cancellation ----------------------------------------------------------------

-- The refund of a cancelled stay (docs/decisions/0008-booking.md).  Only a
-- confirmed booking was paid; a landlord's cancellation refunds it all.
-- The stay begins at 00:00 UTC of check_in.  Percentages round down.
CREATE FUNCTION booking.refund(b booking.bookings, p_by text, p_now_ms bigint) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN b.status <> 'confirmed' THEN 0
        WHEN p_by = 'landlord' THEN b.total_amount
        ELSE (SELECT CASE b.policy
            WHEN 'flexible' THEN CASE WHEN h >= 24 THEN b.total_amount
                                      ELSE greatest(b.total_amount - b.nightly_amount, 0) END
            WHEN 'moderate' THEN CASE WHEN h >= 5 * 24 THEN b.total_amount
                                      ELSE b.total_amount / 2 END
            ELSE CASE WHEN h >= 14 * 24 THEN b.total_amount
                      WHEN h >= 7 * 24 THEN b.total_amount / 2
                      ELSE 0 END END
              FROM (SELECT (extract(epoch FROM lower(b.stay)::timestamp AT TIME ZONE 'UTC')
                            * 1000 - p_now_ms) / 3600000.0 AS h) t)
    END $$;

-- o_outcome: ok (o_body), not_found, state (o_detail), expired, started.
CREATE FUNCTION booking.cancel(p_id uuid, p_user uuid, p_now_ms bigint, p_trace text,
        OUT o_outcome text, OUT o_detail text, OUT o_body text)
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
    UPDATE booking.bookings SET status = 'cancelled', cancelled_by = v_by,
        refund_amount = booking.refund(b, v_by, p_now_ms), expires_at = NULL,
        version = version + 1, updated_at = v_now
     WHERE id = p_id RETURNING * INTO b;
    PERFORM booking.emit(b, 'booking.cancelled', p_trace);
    o_outcome := 'ok';
    o_body := booking.doc(b, p_now_ms)::text;
END $$;

-- ---- payments --------------------------------------------------------------------

-- payment.succeeded for p_booking.  Returns confirmed, refund (a
-- booking.refund_requested event was published), duplicate (seen before),
-- or unknown (no such booking: recorded, nothing else).
CREATE FUNCTION booking.pay(p_booking uuid, p_payment text, p_amount bigint, p_currency text,
                            p_now_ms bigint, p_trace text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    b booking.bookings;
    v_now timestamptz := booking.ts(p_now_ms);
    v_reason text;
BEGIN
    -- lock the booking before any write, so that this transaction's id is
    -- newer than that of any earlier publisher of the booking
    SELECT * INTO b FROM booking.bookings WHERE id = p_booking FOR UPDATE;
    INSERT INTO booking.payments (payment_id, booking_id, outcome, amount, currency, received_at)
    VALUES (p_payment, p_booking, 'pending', p_amount, p_currency, v_now)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN 'duplicate';
    END IF;
    IF b.id IS NULL THEN
        UPDATE booking.payments SET outcome = 'unknown' WHERE payment_id = p_payment;
        RETURN 'unknown';
    END IF;
    IF booking.holds(b.status) AND b.expires_at <= v_now THEN
        PERFORM booking.expire_holds(NULL, NULL, p_booking, p_now_ms, p_trace);
        SELECT * INTO b FROM booking.bookings WHERE id = p_booking;
    END IF;
    v_reason := CASE
        WHEN b.status = 'pending_payment' AND (p_amount IS DISTINCT FROM b.total_amount
                                               OR p_currency IS DISTINCT FROM b.currency)
            THEN 'amount_mismatch'
        WHEN b.status = 'pending_payment' THEN NULL
        WHEN b.status IN ('confirmed', 'completed') THEN 'already_paid'
        WHEN b.status = 'requested' THEN 'not_accepted'
        ELSE b.status END;                 -- expired, declined, cancelled
    IF v_reason IS NULL THEN
        UPDATE booking.bookings SET status = 'confirmed', payment_id = p_payment,
            expires_at = NULL, version = version + 1, updated_at = v_now
         WHERE id = p_booking RETURNING * INTO b;
        UPDATE booking.payments SET outcome = 'confirmed' WHERE payment_id = p_payment;
        PERFORM booking.emit(b, 'booking.confirmed', p_trace);
        PERFORM booking.enqueue('complete', b.id, upper(b.stay)::timestamp AT TIME ZONE 'UTC',
                                v_now);
        RETURN 'confirmed';
    END IF;
    UPDATE booking.payments SET outcome = 'refund' WHERE payment_id = p_payment;
    PERFORM rentezy.publish('booking-events', 'booking.refund_requested', 'booking',
        b.id::text, b.version, jsonb_build_object(
            'booking_id', b.id, 'payment_id', p_payment, 'reason', v_reason,
            'tenant_id', b.tenant_id, 'landlord_id', b.landlord_id,
            'refund', json_build_object('amount', p_amount, 'currency', p_currency),
            'booking', booking.doc(b, NULL)), p_trace);
    RETURN 'refund';
END $$;

-- ---- completion ------------------------------------------------------------------

-- A confirmed stay whose check-out day has come.  'completed' or 'no'.
CREATE FUNCTION booking.complete(p_id uuid, p_now_ms bigint, p_trace text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    b booking.bookings;
    v_now timestamptz := booking.ts(p_now_ms);
BEGIN
    UPDATE booking.bookings SET status = 'completed', version = version + 1, updated_at = v_now
     WHERE id = p_id AND status = 'confirmed'
       AND upper(stay) <= (v_now AT TIME ZONE 'UTC')::date
    RETURNING * INTO b;
    IF NOT FOUND THEN
        RETURN 'no';
    END IF;
    PERFORM booking.emit(b, 'booking.completed', p_trace);
    RETURN 'completed';
END $$;
