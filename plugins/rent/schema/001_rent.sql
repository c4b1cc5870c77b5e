-- rent 1: leases, charges, payments, refunds, the sandbox provider's own
-- records, webhook deliveries seen, and the read model of bookings.  Runs
-- with search_path = rent.  Money is bigint minor units plus an ISO code.
-- Every write that others must hear about publishes in the same
-- transaction: payment.* on payment-events (subject: the payment), rent.* on
-- rent-events (subject: the lease).  See docs/decisions/0009-rent.md.

CREATE TABLE rent.leases (
    id               uuid PRIMARY KEY,
    landlord_id      uuid NOT NULL,
    tenant_id        uuid NOT NULL,
    property_id      uuid NOT NULL,
    amount           bigint NOT NULL CHECK (amount > 0),
    currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    start_date       date NOT NULL,
    end_date         date CHECK (end_date >= start_date),
    due_day          int NOT NULL CHECK (due_day BETWEEN 1 AND 28),
    grace_days       int NOT NULL CHECK (grace_days BETWEEN 0 AND 27),
    reminder_days    int NOT NULL CHECK (reminder_days BETWEEN 0 AND 27),
    fee_type         text NOT NULL CHECK (fee_type IN ('none', 'fixed', 'percent', 'daily')),
    fee_amount       bigint NOT NULL DEFAULT 0 CHECK (fee_amount >= 0),
    fee_bp           int NOT NULL DEFAULT 0 CHECK (fee_bp BETWEEN 0 AND 10000),
    fee_cap          bigint CHECK (fee_cap >= 0),
    time_zone        text NOT NULL,
    status           text NOT NULL CHECK (status IN ('proposed', 'active', 'terminated')),
    autopay          text,
    next_start       date,               -- first day not charged yet
    processed_through date,              -- last local day the daily run handled
    ev_version       bigint NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX leases_landlord ON rent.leases (landlord_id);
CREATE INDEX leases_tenant ON rent.leases (tenant_id);
CREATE INDEX leases_active ON rent.leases (processed_through) WHERE status = 'active';

CREATE TABLE rent.charges (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    lease_id      uuid NOT NULL REFERENCES rent.leases,
    kind          text NOT NULL CHECK (kind IN ('rent', 'late_fee')),
    parent_id     uuid REFERENCES rent.charges,   -- a late fee's rent charge
    period_start  date,
    period_end    date,
    due_date      date NOT NULL,
    amount        bigint NOT NULL CHECK (amount > 0),
    currency      text NOT NULL,
    paid          bigint NOT NULL DEFAULT 0,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'void')),
    attempts      int NOT NULL DEFAULT 0,         -- autopay attempts
    next_attempt  date,                           -- local day of the next autopay attempt
    reminded_before timestamptz,
    reminded_due  timestamptz,
    created_at    timestamptz NOT NULL
);
-- each rent period is charged once, each rent charge has at most one fee
CREATE UNIQUE INDEX charges_once ON rent.charges (lease_id, period_start) WHERE kind = 'rent';
CREATE UNIQUE INDEX charges_one_fee ON rent.charges (parent_id) WHERE kind = 'late_fee';
CREATE INDEX charges_open ON rent.charges (lease_id) WHERE status = 'open';

CREATE TABLE rent.bookings (            -- read model of booking-events
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    landlord_id uuid NOT NULL,
    amount      bigint NOT NULL,
    currency    text NOT NULL,
    status      text NOT NULL,
    version     bigint NOT NULL
);

CREATE TABLE rent.payments (
    id            uuid PRIMARY KEY,
    purpose       text NOT NULL CHECK (purpose IN ('rent', 'booking')),
    charge_id     uuid REFERENCES rent.charges,
    lease_id      uuid,
    booking_id    uuid,
    payer_id      uuid NOT NULL,
    payee_id      uuid NOT NULL,
    amount        bigint NOT NULL CHECK (amount > 0),
    currency      text NOT NULL,
    method        text NOT NULL,
    provider      text NOT NULL,
    idem_key      text NOT NULL UNIQUE,      -- sent to the provider, reused on every retry
    autopay       boolean NOT NULL DEFAULT false,
    status        text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
    failure_code  text,
    retryable     boolean,
    provider_ref  text,
    refunded      bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CHECK ((purpose = 'rent') = (charge_id IS NOT NULL)),
    CHECK ((purpose = 'booking') = (booking_id IS NOT NULL))
);
-- never two live payments for one purpose: the database holds it
CREATE UNIQUE INDEX payments_live_charge ON rent.payments (charge_id)
    WHERE status IN ('pending', 'succeeded');
CREATE UNIQUE INDEX payments_live_booking ON rent.payments (booking_id)
    WHERE status IN ('pending', 'succeeded', 'refunded');
CREATE INDEX payments_lease ON rent.payments (lease_id);

CREATE TABLE rent.refunds (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    payment_id   uuid NOT NULL REFERENCES rent.payments,
    amount       bigint NOT NULL CHECK (amount > 0),
    reason       text NOT NULL,
    idem_key     text NOT NULL UNIQUE,       -- 'refund:' || the cause (event id)
    status       text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    provider_ref text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- The sandbox provider's own ledger: what a processor would remember.
CREATE TABLE rent.sandbox_charges (
    idem_key   text PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('charge', 'refund')),
    token      text NOT NULL,
    grp        text NOT NULL,
    amount     bigint NOT NULL,
    currency   text NOT NULL,
    status     text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    code       text,
    retryable  boolean NOT NULL DEFAULT false,
    ref        uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL
);
CREATE INDEX sandbox_grp ON rent.sandbox_charges (grp);

CREATE TABLE rent.webhooks_seen (
    event_id    text PRIMARY KEY,
    received_at timestamptz NOT NULL
);

-- ---- helpers -----------------------------------------------------------------------

CREATE FUNCTION rent.ts(p_ms bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT to_timestamp(p_ms / 1000.0) $$;
CREATE FUNCTION rent.rfc3339(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;
CREATE FUNCTION rent.money(a bigint, c text) RETURNS json LANGUAGE sql IMMUTABLE
    AS $$ SELECT json_build_object('amount', a, 'currency', c) $$;
-- the first due date strictly after d
CREATE FUNCTION rent.next_due(d date, p_day int) RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN extract(day FROM d) < p_day
                THEN make_date(extract(year FROM d)::int, extract(month FROM d)::int, p_day)
                ELSE (make_date(extract(year FROM d)::int, extract(month FROM d)::int, p_day)
                      + interval '1 month')::date END $$;

CREATE FUNCTION rent.lease_doc(l rent.leases) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', l.id, 'landlord_id', l.landlord_id, 'tenant_id', l.tenant_id,
        'property_id', l.property_id, 'monthly_rent', rent.money(l.amount, l.currency),
        'start_date', l.start_date, 'end_date', l.end_date, 'due_day', l.due_day,
        'grace_days', l.grace_days, 'reminder_days', l.reminder_days,
        'late_fee', json_strip_nulls(json_build_object('type', l.fee_type,
            'amount', CASE WHEN l.fee_type IN ('fixed', 'daily') THEN l.fee_amount END,
            'percent_bp', CASE WHEN l.fee_type = 'percent' THEN l.fee_bp END,
            'cap', l.fee_cap)),
        'time_zone', l.time_zone, 'status', l.status, 'autopay', l.autopay IS NOT NULL,
        'created_at', rent.rfc3339(l.created_at), 'updated_at', rent.rfc3339(l.updated_at)) $$;

CREATE FUNCTION rent.charge_doc(c rent.charges) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', c.id, 'lease_id', c.lease_id, 'kind', c.kind,
        'parent_id', c.parent_id, 'period_start', c.period_start, 'period_end', c.period_end,
        'due_date', c.due_date, 'amount', rent.money(c.amount, c.currency),
        'paid', rent.money(c.paid, c.currency), 'status', c.status) $$;

CREATE FUNCTION rent.payment_doc(p rent.payments) RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_strip_nulls(json_build_object('id', p.id, 'payment_id', p.id,
        'purpose', p.purpose, 'charge_id', p.charge_id, 'lease_id', p.lease_id,
        'booking_id', p.booking_id, 'payer_id', p.payer_id, 'payee_id', p.payee_id,
        'amount', rent.money(p.amount, p.currency), 'provider', p.provider,
        'status', p.status, 'autopay', p.autopay, 'failure_code', p.failure_code,
        'retryable', p.retryable, 'refunded', rent.money(p.refunded, p.currency),
        'created_at', rent.rfc3339(p.created_at), 'updated_at', rent.rfc3339(p.updated_at))) $$;

-- Publish a rent.* event about lease p_lease (locked by the caller).
CREATE FUNCTION rent.emit(p_lease uuid, p_type text, p_data jsonb) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    UPDATE rent.leases SET ev_version = ev_version + 1 WHERE id = p_lease RETURNING ev_version INTO v;
    PERFORM rentezy.publish('rent-events', p_type, 'rent', p_lease::text, v, p_data, NULL);
END $$;

CREATE FUNCTION rent.emit_payment(p rent.payments, p_type text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rentezy.publish('payment-events', p_type, 'rent', p.id::text,
        CASE p_type WHEN 'payment.refunded' THEN 2 ELSE 1 END, rent.payment_doc(p)::jsonb, NULL);
END $$;

CREATE FUNCTION rent.enqueue(p_kind text, p_payload json, p_run_at timestamptz, p_now timestamptz)
    RETURNS void LANGUAGE sql AS $$
    INSERT INTO rentezy.jobs (plugin, kind, payload, run_at, state, created_at, updated_at)
    VALUES ('rent', p_kind, p_payload::jsonb, p_run_at, 'due', p_now, p_now) $$;

-- ---- leases ----------------------------------------------------------------------------

-- o_outcome: ok (o_body), not_found, state (o_detail)
CREATE FUNCTION rent.accept(p_id uuid, p_user uuid, p_method text, p_now_ms bigint,
        p_lead int, OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE l rent.leases; v_now timestamptz := rent.ts(p_now_ms);
BEGIN
    SELECT * INTO l FROM rent.leases WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR (l.tenant_id <> p_user AND l.landlord_id <> p_user) THEN
        o_outcome := 'not_found'; RETURN;
    ELSIF l.tenant_id <> p_user OR l.status <> 'proposed' THEN
        o_outcome := 'state'; o_detail := l.status; RETURN;
    END IF;
    UPDATE rent.leases SET status = 'active', autopay = p_method, next_start = start_date,
        processed_through = least(start_date, (v_now AT TIME ZONE time_zone)::date) - 1,
        updated_at = v_now WHERE id = p_id RETURNING * INTO l;
    PERFORM rent.emit(l.id, 'rent.lease_accepted', rent.lease_doc(l)::jsonb);
    PERFORM rent.process_lease(l.id, p_now_ms, p_lead);
    SELECT * INTO l FROM rent.leases WHERE id = p_id;
    o_outcome := 'ok'; o_body := rent.lease_doc(l)::text;
END $$;

-- Ends the lease after p_end (a local date, not in the past); open rent charges
-- for periods after it are voided.  o_outcome: ok, not_found, state, too_early.
CREATE FUNCTION rent.terminate(p_id uuid, p_user uuid, p_end date, p_now_ms bigint,
        OUT o_outcome text, OUT o_detail text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE l rent.leases; v_now timestamptz := rent.ts(p_now_ms);
BEGIN
    SELECT * INTO l FROM rent.leases WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR (l.tenant_id <> p_user AND l.landlord_id <> p_user) THEN
        o_outcome := 'not_found'; RETURN;
    ELSIF l.status = 'terminated' THEN
        o_outcome := 'state'; o_detail := l.status; RETURN;
    ELSIF p_end < (v_now AT TIME ZONE l.time_zone)::date OR p_end < l.start_date THEN
        o_outcome := 'too_early'; RETURN;
    END IF;
    UPDATE rent.leases SET end_date = least(coalesce(end_date, p_end), p_end),
        status = CASE WHEN status = 'proposed' THEN 'terminated' ELSE status END,
        updated_at = v_now WHERE id = p_id RETURNING * INTO l;
    UPDATE rent.charges SET status = 'void', next_attempt = NULL
     WHERE lease_id = p_id AND kind = 'rent' AND status = 'open' AND period_start > l.end_date
       AND NOT EXISTS (SELECT 1 FROM rent.payments p WHERE p.charge_id = charges.id
                        AND p.status = 'pending');
    PERFORM rent.emit(l.id, 'rent.lease_terminated', rent.lease_doc(l)::jsonb);
    o_outcome := 'ok'; o_body := rent.lease_doc(l)::text;
END $$;

-- ---- the month ---------------------------------------------------------------------------

-- Begin an autopay payment of charge c: the attempt is recorded (with the
-- idempotency key the provider will see) and a job runs it.
CREATE FUNCTION rent.autopay(l rent.leases, c rent.charges, v_now timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE v_id uuid := gen_random_uuid();
BEGIN
    INSERT INTO rent.payments (id, purpose, charge_id, lease_id, payer_id, payee_id, amount,
        currency, method, provider, idem_key, autopay, status, created_at, updated_at)
    VALUES (v_id, 'rent', c.id, l.id, l.tenant_id, l.landlord_id, c.amount - c.paid, c.currency,
        l.autopay, 'sandbox', v_id::text, true, 'pending', v_now, v_now)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        UPDATE rent.charges SET attempts = attempts + 1, next_attempt = NULL WHERE id = c.id;
        PERFORM rent.enqueue('payment', json_build_object('payment_id', v_id), v_now, v_now);
    END IF;
END $$;

-- Every local day of lease p_id not handled yet, up to today in its time
-- zone: charges created p_lead days ahead (the first one prorated by days),
-- reminders, late fees, autopay attempts.  Idempotent: the unique indexes
-- and the reminded_* columns make a second run a no-op.  Returns the number
-- of charges created.
CREATE FUNCTION rent.process_lease(p_id uuid, p_now_ms bigint, p_lead int) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    l rent.leases; c rent.charges;
    v_now timestamptz := rent.ts(p_now_ms);
    v_today date; d date; nd date; pe date; full_len int; days int; fee bigint;
    n int := 0;
BEGIN
    SELECT * INTO l FROM rent.leases WHERE id = p_id AND status = 'active' FOR UPDATE;
    IF NOT FOUND THEN RETURN 0; END IF;
    v_today := (v_now AT TIME ZONE l.time_zone)::date;
    d := l.processed_through + 1;
    WHILE d <= v_today LOOP
        -- charges, ahead of their due date
        WHILE l.next_start IS NOT NULL AND l.next_start - p_lead <= d
              AND (l.end_date IS NULL OR l.next_start <= l.end_date) LOOP
            nd := rent.next_due(l.next_start, l.due_day);
            full_len := nd - (nd - interval '1 month')::date;
            pe := least(nd - 1, coalesce(l.end_date, nd - 1));
            days := pe - l.next_start + 1;
            INSERT INTO rent.charges (lease_id, kind, period_start, period_end, due_date, amount,
                currency, next_attempt, created_at)
            VALUES (l.id, 'rent', l.next_start, pe, l.next_start,
                CASE WHEN days >= full_len THEN l.amount ELSE l.amount * days / full_len END,
                l.currency, CASE WHEN l.autopay IS NOT NULL THEN l.next_start END, v_now)
            ON CONFLICT DO NOTHING RETURNING * INTO c;
            IF c.id IS NOT NULL THEN
                n := n + 1;
                PERFORM rent.emit(l.id, 'rent.charge_created', jsonb_build_object(
                    'lease_id', l.id, 'tenant_id', l.tenant_id, 'landlord_id', l.landlord_id,
                    'charge', rent.charge_doc(c)));
            END IF;
            c := NULL;
            UPDATE rent.leases SET next_start = CASE WHEN l.end_date IS NOT NULL
                AND pe >= l.end_date THEN NULL ELSE pe + 1 END WHERE id = l.id RETURNING * INTO l;
        END LOOP;
        -- reminders: before the due date, and on it
        FOR c IN UPDATE rent.charges SET reminded_before = v_now
                  WHERE lease_id = l.id AND kind = 'rent' AND status = 'open'
                    AND reminded_before IS NULL AND d < due_date
                    AND d >= due_date - l.reminder_days AND l.reminder_days > 0
                  RETURNING * LOOP
            PERFORM rent.emit(l.id, 'rent.reminder_due', jsonb_build_object('lease_id', l.id,
                'tenant_id', l.tenant_id, 'when', 'before', 'charge', rent.charge_doc(c)));
        END LOOP;
        FOR c IN UPDATE rent.charges SET reminded_due = v_now
                  WHERE lease_id = l.id AND kind = 'rent' AND status = 'open'
                    AND reminded_due IS NULL AND d = due_date
                  RETURNING * LOOP
            PERFORM rent.emit(l.id, 'rent.reminder_due', jsonb_build_object('lease_id', l.id,
                'tenant_id', l.tenant_id, 'when', 'due', 'charge', rent.charge_doc(c)));
        END LOOP;
        -- one late fee after the grace period, when still unpaid
        FOR c IN SELECT * FROM rent.charges x
                  WHERE x.lease_id = l.id AND x.kind = 'rent' AND x.status = 'open'
                    AND d > x.due_date + l.grace_days AND l.fee_type <> 'none'
                    AND NOT EXISTS (SELECT 1 FROM rent.charges f
                                     WHERE f.parent_id = x.id AND f.kind = 'late_fee') LOOP
            fee := CASE l.fee_type WHEN 'fixed' THEN l.fee_amount
                                   WHEN 'percent' THEN c.amount * l.fee_bp / 10000
                                   ELSE l.fee_amount * (l.grace_days + 1) END;
            fee := least(fee, coalesce(l.fee_cap, fee));
            IF fee > 0 THEN
                INSERT INTO rent.charges (lease_id, kind, parent_id, due_date, amount, currency,
                    next_attempt, created_at)
                VALUES (l.id, 'late_fee', c.id, d, fee, l.currency,
                    CASE WHEN l.autopay IS NOT NULL THEN d END, v_now)
                RETURNING * INTO c;
                PERFORM rent.emit(l.id, 'rent.late_fee_applied', jsonb_build_object(
                    'lease_id', l.id, 'tenant_id', l.tenant_id, 'landlord_id', l.landlord_id,
                    'charge', rent.charge_doc(c)));
            END IF;
        END LOOP;
        -- autopay: due today, or a retry due today
        IF l.autopay IS NOT NULL THEN
            FOR c IN SELECT * FROM rent.charges WHERE lease_id = l.id AND status = 'open'
                        AND next_attempt <= d ORDER BY due_date, kind DESC LOOP
                PERFORM rent.autopay(l, c, v_now);
            END LOOP;
        END IF;
        d := d + 1;
    END LOOP;
    UPDATE rent.leases SET processed_through = greatest(processed_through, v_today)
     WHERE id = l.id;
    RETURN n;
END $$;

-- The daily run: up to p_limit active leases behind today.  Leases locked
-- by another run are skipped (that run handles them).  The caller repeats
-- until o_leases < p_limit; each call is one transaction.
CREATE FUNCTION rent.run_day(p_now_ms bigint, p_lead int, p_limit int,
        OUT o_leases int, OUT o_charges int)
    LANGUAGE plpgsql AS $$
DECLARE v_id uuid; v_now timestamptz := rent.ts(p_now_ms);
BEGIN
    o_leases := 0; o_charges := 0;
    FOR v_id IN SELECT id FROM rent.leases
                 WHERE status = 'active' AND processed_through < (v_now AT TIME ZONE time_zone)::date
                 LIMIT p_limit FOR UPDATE SKIP LOCKED LOOP
        o_charges := o_charges + rent.process_lease(v_id, p_now_ms, p_lead);
        o_leases := o_leases + 1;
    END LOOP;
END $$;

-- ---- payments -------------------------------------------------------------------------

-- Record a payment the caller asked for (not yet sent to the provider) and
-- a recovery job that finishes it should this process die.  o_outcome: ok
-- (o_body: the payment doc, with idem_key), not_found, paid, busy.
CREATE FUNCTION rent.pay_begin(p_id uuid, p_purpose text, p_target uuid, p_user uuid,
        p_method text, p_now_ms bigint, p_recover_ms bigint,
        OUT o_outcome text, OUT o_body text)
    LANGUAGE plpgsql AS $$
DECLARE
    v_now timestamptz := rent.ts(p_now_ms);
    c rent.charges; l rent.leases; b rent.bookings; p rent.payments;
BEGIN
    IF p_purpose = 'rent' THEN
        SELECT * INTO c FROM rent.charges WHERE id = p_target FOR UPDATE;
        SELECT * INTO l FROM rent.leases WHERE id = c.lease_id;
        IF c.id IS NULL OR l.tenant_id <> p_user THEN o_outcome := 'not_found'; RETURN; END IF;
        IF c.status <> 'open' THEN o_outcome := 'paid'; RETURN; END IF;
        INSERT INTO rent.payments (id, purpose, charge_id, lease_id, payer_id, payee_id, amount,
            currency, method, provider, idem_key, status, created_at, updated_at)
        VALUES (p_id, 'rent', c.id, l.id, l.tenant_id, l.landlord_id, c.amount - c.paid,
            c.currency, p_method, 'sandbox', p_id::text, 'pending', v_now, v_now)
        ON CONFLICT DO NOTHING RETURNING * INTO p;
    ELSE
        SELECT * INTO b FROM rent.bookings WHERE id = p_target;
        IF b.id IS NULL OR b.tenant_id <> p_user THEN o_outcome := 'not_found'; RETURN; END IF;
        IF b.status <> 'pending_payment' THEN o_outcome := 'paid'; RETURN; END IF;
        INSERT INTO rent.payments (id, purpose, booking_id, payer_id, payee_id, amount,
            currency, method, provider, idem_key, status, created_at, updated_at)
        VALUES (p_id, 'booking', b.id, b.tenant_id, b.landlord_id, b.amount, b.currency,
            p_method, 'sandbox', p_id::text, 'pending', v_now, v_now)
        ON CONFLICT DO NOTHING RETURNING * INTO p;
    END IF;
    IF p.id IS NULL THEN o_outcome := 'busy'; RETURN; END IF;
    PERFORM rent.enqueue('payment', json_build_object('payment_id', p.id),
                         v_now + p_recover_ms * interval '1 ms', v_now);
    o_outcome := 'ok';
    o_body := (rent.payment_doc(p)::jsonb || jsonb_build_object('idem_key', p.idem_key,
               'method', p.method, 'group', coalesce(p.charge_id, p.booking_id)))::text;
END $$;

-- The provider's answer for payment p_id: stored once (a pending payment
-- only), with its events.  Returns the payment doc.
CREATE FUNCTION rent.pay_finish(p_id uuid, p_status text, p_code text, p_retryable boolean,
        p_ref text, p_now_ms bigint) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_now timestamptz := rent.ts(p_now_ms);
    p rent.payments; c rent.charges; l rent.leases;
    v_retry int[] := ARRAY[1, 3, 5];
BEGIN
    IF p_status = 'pending' THEN
        UPDATE rent.payments SET provider_ref = p_ref, updated_at = v_now
         WHERE id = p_id AND status = 'pending' RETURNING * INTO p;
    ELSE
        UPDATE rent.payments SET status = p_status, failure_code = p_code,
            retryable = p_retryable, provider_ref = coalesce(p_ref, provider_ref), updated_at = v_now
         WHERE id = p_id AND status = 'pending' RETURNING * INTO p;
    END IF;
    IF p.id IS NULL OR p_status = 'pending' THEN
        SELECT * INTO p FROM rent.payments WHERE id = p_id;
        RETURN rent.payment_doc(p)::text;
    END IF;
    IF p.charge_id IS NOT NULL THEN
        IF p_status = 'succeeded' THEN
            UPDATE rent.charges SET paid = paid + p.amount, next_attempt = NULL,
                status = CASE WHEN paid + p.amount >= amount THEN 'paid' ELSE status END
             WHERE id = p.charge_id;
        ELSIF p.autopay THEN
            SELECT * INTO c FROM rent.charges WHERE id = p.charge_id;
            UPDATE rent.charges SET next_attempt = CASE
                WHEN p_retryable AND c.attempts <= 3 THEN c.due_date + v_retry[c.attempts] END
             WHERE id = c.id AND status = 'open' RETURNING * INTO c;
            -- An answer that arrives after the daily run already handled the
            -- retry's day (a slow provider, or a run that caught up several
            -- days at once) would otherwise wait for the next local day: the
            -- attempt starts now.  The lease's row lock waits for a run that
            -- is handling this lease, so its processed_through is final.
            IF c.next_attempt IS NOT NULL THEN
                SELECT * INTO l FROM rent.leases WHERE id = p.lease_id FOR SHARE;
                IF l.status = 'active' AND l.autopay IS NOT NULL
                   AND c.next_attempt <= l.processed_through THEN
                    PERFORM rent.autopay(l, c, v_now);
                END IF;
            END IF;
        END IF;
    END IF;
    PERFORM rent.emit_payment(p, 'payment.' || p_status);
    RETURN rent.payment_doc(p)::text;
END $$;

-- A delivery of the provider's webhook, after its signature was checked.
-- 'replayed' when its event id was seen, 'unknown' when no payment has the
-- key, else 'ok'.
CREATE FUNCTION rent.webhook(p_event text, p_key text, p_status text, p_code text,
        p_retryable boolean, p_ref text, p_now_ms bigint) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE v_id uuid;
BEGIN
    INSERT INTO rent.webhooks_seen VALUES (p_event, rent.ts(p_now_ms)) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN RETURN 'replayed'; END IF;
    SELECT id INTO v_id FROM rent.payments WHERE idem_key = p_key;
    IF v_id IS NULL THEN RETURN 'unknown'; END IF;
    PERFORM rent.pay_finish(v_id, p_status, p_code, p_retryable, p_ref, p_now_ms);
    RETURN 'ok';
END $$;

-- ---- refunds ------------------------------------------------------------------------------

-- Record a refund of payment p_payment (at most what is left of it) under
-- p_key, once, with a job that sends it.  Returns the refund id or NULL.
CREATE FUNCTION rent.refund_begin(p_payment uuid, p_amount bigint, p_reason text, p_key text,
                                  p_now_ms bigint) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE p rent.payments; v_id uuid; v_now timestamptz := rent.ts(p_now_ms); v_amt bigint;
BEGIN
    SELECT * INTO p FROM rent.payments WHERE id = p_payment FOR UPDATE;
    IF p.id IS NULL OR p.status NOT IN ('succeeded', 'refunded') THEN RETURN NULL; END IF;
    v_amt := least(p_amount, p.amount - p.refunded
                   - coalesce((SELECT sum(amount) FROM rent.refunds
                                WHERE payment_id = p.id AND status = 'pending'), 0));
    IF v_amt <= 0 THEN RETURN NULL; END IF;
    INSERT INTO rent.refunds (payment_id, amount, reason, idem_key, status, created_at, updated_at)
    VALUES (p.id, v_amt, p_reason, p_key, 'pending', v_now, v_now)
    ON CONFLICT DO NOTHING RETURNING id INTO v_id;
    IF v_id IS NOT NULL THEN
        PERFORM rent.enqueue('refund', json_build_object('refund_id', v_id), v_now, v_now);
    END IF;
    RETURN v_id;
END $$;

CREATE FUNCTION rent.refund_finish(p_id uuid, p_status text, p_ref text, p_now_ms bigint)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE r rent.refunds; p rent.payments; v_now timestamptz := rent.ts(p_now_ms);
BEGIN
    UPDATE rent.refunds SET status = p_status, provider_ref = p_ref, updated_at = v_now
     WHERE id = p_id AND status = 'pending' RETURNING * INTO r;
    IF r.id IS NULL OR p_status <> 'succeeded' THEN RETURN 'no'; END IF;
    UPDATE rent.payments SET refunded = refunded + r.amount, updated_at = v_now,
        status = CASE WHEN refunded + r.amount >= amount THEN 'refunded' ELSE status END
     WHERE id = r.payment_id RETURNING * INTO p;
    IF p.charge_id IS NOT NULL THEN
        UPDATE rent.charges SET paid = paid - r.amount, status = 'open' WHERE id = p.charge_id;
    END IF;
    PERFORM rent.emit_payment(p, 'payment.refunded');
    RETURN 'ok';
END $$;

-- booking-events: keep what payments need; refunds for cancellations and
-- late payments.  Returns the payment id to refund and the amount, or nothing.
CREATE FUNCTION rent.apply_booking(p_type text, p_event text, p_version bigint, d jsonb,
                                   p_now_ms bigint) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE b jsonb := CASE WHEN d ? 'booking' THEN d->'booking' ELSE d END; v_pay uuid;
BEGIN
    -- a document without what payments need is not ours to keep
    IF b->>'id' IS NOT NULL AND b->>'tenant_id' IS NOT NULL AND b->>'landlord_id' IS NOT NULL
       AND b->'total'->>'amount' IS NOT NULL AND b->'total'->>'currency' IS NOT NULL
       AND b->>'status' IS NOT NULL THEN
        INSERT INTO rent.bookings AS x VALUES ((b->>'id')::uuid, (b->>'tenant_id')::uuid,
            (b->>'landlord_id')::uuid, (b->'total'->>'amount')::bigint, b->'total'->>'currency',
            b->>'status', coalesce((b->>'version')::bigint, p_version))
        ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version
            WHERE x.version < EXCLUDED.version;
    END IF;
    IF p_type = 'booking.cancelled' AND (b->'refund'->>'amount')::bigint > 0 THEN
        SELECT id INTO v_pay FROM rent.payments WHERE booking_id = (b->>'id')::uuid
           AND status = 'succeeded';
        RETURN rent.refund_begin(v_pay, (b->'refund'->>'amount')::bigint, 'booking_cancelled',
                                 'refund:' || p_event, p_now_ms);
    ELSIF p_type = 'booking.refund_requested' AND d->>'payment_id' IS NOT NULL
          AND (d->'refund'->>'amount')::bigint > 0 THEN
        SELECT id INTO v_pay FROM rent.payments WHERE id::text = d->>'payment_id';
        RETURN rent.refund_begin(v_pay, (d->'refund'->>'amount')::bigint,
                                 coalesce(d->>'reason', 'refund_requested'), 'refund:' || p_event,
                                 p_now_ms);
    END IF;
    RETURN NULL;
END $$;

-- ---- the sandbox provider ------------------------------------------------------------------

-- A charge under p_key: the first call decides (p_outcome: succeeded,
-- failed, pending, or flaky = failed when the group was never charged
-- before), every later call with the same key returns that first record.
CREATE FUNCTION rent.sandbox_charge(p_key text, p_kind text, p_token text, p_grp text,
        p_amount bigint, p_currency text, p_outcome text, p_code text, p_retryable boolean,
        p_now_ms bigint, p_confirm_ms bigint,
        OUT o_status text, OUT o_code text, OUT o_retryable boolean, OUT o_ref text)
    LANGUAGE plpgsql AS $$
DECLARE s rent.sandbox_charges; v_now timestamptz := rent.ts(p_now_ms);
BEGIN
    SELECT * INTO s FROM rent.sandbox_charges WHERE idem_key = p_key;
    IF s.idem_key IS NULL THEN
        IF p_outcome = 'flaky' THEN
            PERFORM pg_advisory_xact_lock(hashtext(p_grp));
            IF EXISTS (SELECT 1 FROM rent.sandbox_charges WHERE grp = p_grp) THEN
                p_outcome := 'succeeded'; p_code := NULL; p_retryable := false;
            ELSE
                p_outcome := 'failed';
            END IF;
        END IF;
        INSERT INTO rent.sandbox_charges (idem_key, kind, token, grp, amount, currency, status,
            code, retryable, created_at)
        VALUES (p_key, p_kind, p_token, p_grp, p_amount, p_currency, p_outcome, p_code,
            coalesce(p_retryable, false), v_now)
        ON CONFLICT (idem_key) DO NOTHING RETURNING * INTO s;
        IF s.idem_key IS NULL THEN   -- lost a race: the winner's record answers
            SELECT * INTO s FROM rent.sandbox_charges WHERE idem_key = p_key;
        ELSIF s.status = 'pending' THEN
            PERFORM rent.enqueue('sandbox_confirm', json_build_object('key', p_key),
                                 v_now + p_confirm_ms * interval '1 ms', v_now);
        END IF;
    END IF;
    o_status := s.status; o_code := s.code; o_retryable := s.retryable; o_ref := s.ref::text;
END $$;

-- The asynchronous confirmation of a pending sandbox charge: it succeeds.
CREATE FUNCTION rent.sandbox_settle(p_key text) RETURNS rent.sandbox_charges
    LANGUAGE plpgsql AS $$
DECLARE s rent.sandbox_charges;
BEGIN
    UPDATE rent.sandbox_charges SET status = 'succeeded' WHERE idem_key = p_key
       AND status = 'pending' RETURNING * INTO s;
    IF s.idem_key IS NULL THEN
        SELECT * INTO s FROM rent.sandbox_charges WHERE idem_key = p_key;
    END IF;
    RETURN s;
END $$;

-- ---- reading ------------------------------------------------------------------------------

-- The ledger of a lease for its tenant or landlord, NULL otherwise: every
-- charge (debit), payment (credit) and refund (debit), per currency, with a
-- balance that is charged - paid + refunded.
CREATE FUNCTION rent.ledger(p_id uuid, p_user uuid) RETURNS text
    LANGUAGE sql STABLE AS $$
    WITH l AS (SELECT * FROM rent.leases WHERE id = p_id
                AND (tenant_id = p_user OR landlord_id = p_user)),
    e AS (
        SELECT c.due_date AS day, c.created_at AS at, c.kind AS type, c.id AS ref,
               c.amount AS amount, c.currency FROM rent.charges c, l
         WHERE c.lease_id = l.id AND c.status <> 'void'
        UNION ALL
        SELECT (p.created_at AT TIME ZONE 'UTC')::date, p.created_at, 'payment', p.id,
               -p.amount, p.currency FROM rent.payments p, l
         WHERE p.lease_id = l.id AND p.status IN ('succeeded', 'refunded')
        UNION ALL
        SELECT (r.updated_at AT TIME ZONE 'UTC')::date, r.updated_at, 'refund', r.id, r.amount,
               p.currency FROM rent.refunds r JOIN rent.payments p ON p.id = r.payment_id, l
         WHERE p.lease_id = l.id AND r.status = 'succeeded')
    SELECT json_build_object('lease_id', l.id,
        'currencies', coalesce((SELECT json_agg(json_build_object('currency', cur,
            'charged', charged, 'paid', paid, 'refunded', refunded,
            'balance', charged - paid + refunded) ORDER BY cur) FROM (
            SELECT currency AS cur,
                   coalesce(sum(amount) FILTER (WHERE type IN ('rent', 'late_fee')), 0) AS charged,
                   coalesce(-sum(amount) FILTER (WHERE type = 'payment'), 0) AS paid,
                   coalesce(sum(amount) FILTER (WHERE type = 'refund'), 0) AS refunded
              FROM e GROUP BY currency) t), '[]'),
        'entries', coalesce((SELECT json_agg(json_build_object('date', e.day, 'type', e.type,
            'id', e.ref, 'amount', rent.money(e.amount, e.currency)) ORDER BY e.at, e.ref) FROM e),
            '[]'))::text
      FROM l $$;
