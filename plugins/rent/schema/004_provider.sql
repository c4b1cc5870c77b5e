-- rent 4: the payment provider is a setting ([plugin.rent] provider), not
-- always the built-in sandbox.  Every worker records the configured name in
-- rent.settings at start; new payments (asked for or autopay) are recorded
-- with it, and each payment is carried out, confirmed and refunded by the
-- provider it was recorded with (plugins/rent/provider.c).
CREATE FUNCTION rent.active_provider() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT value FROM rent.settings WHERE name = 'provider'), 'sandbox') $$;

-- As in rent 1, with the active provider instead of 'sandbox'.
CREATE OR REPLACE FUNCTION rent.autopay(l rent.leases, c rent.charges, v_now timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE v_id uuid := gen_random_uuid();
BEGIN
    INSERT INTO rent.payments (id, purpose, charge_id, lease_id, payer_id, payee_id, amount,
        currency, method, provider, idem_key, autopay, status, created_at, updated_at)
    VALUES (v_id, 'rent', c.id, l.id, l.tenant_id, l.landlord_id, c.amount - c.paid, c.currency,
        l.autopay, rent.active_provider(), v_id::text, true, 'pending', v_now, v_now)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        UPDATE rent.charges SET attempts = attempts + 1, next_attempt = NULL WHERE id = c.id;
        PERFORM rent.enqueue('payment', json_build_object('payment_id', v_id), v_now, v_now);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION rent.pay_begin(p_id uuid, p_purpose text, p_target uuid, p_user uuid,
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
            c.currency, p_method, rent.active_provider(), p_id::text, 'pending', v_now, v_now)
        ON CONFLICT DO NOTHING RETURNING * INTO p;
    ELSE
        SELECT * INTO b FROM rent.bookings WHERE id = p_target;
        IF b.id IS NULL OR b.tenant_id <> p_user THEN o_outcome := 'not_found'; RETURN; END IF;
        IF b.status <> 'pending_payment' THEN o_outcome := 'paid'; RETURN; END IF;
        INSERT INTO rent.payments (id, purpose, booking_id, payer_id, payee_id, amount,
            currency, method, provider, idem_key, status, created_at, updated_at)
        VALUES (p_id, 'booking', b.id, b.tenant_id, b.landlord_id, b.amount, b.currency,
            p_method, rent.active_provider(), p_id::text, 'pending', v_now, v_now)
        ON CONFLICT DO NOTHING RETURNING * INTO p;
    END IF;
    IF p.id IS NULL THEN o_outcome := 'busy'; RETURN; END IF;
    PERFORM rent.enqueue('payment', json_build_object('payment_id', p.id),
                         v_now + p_recover_ms * interval '1 ms', v_now);
    o_outcome := 'ok';
    o_body := (rent.payment_doc(p)::jsonb || jsonb_build_object('idem_key', p.idem_key,
               'method', p.method, 'group', coalesce(p.charge_id, p.booking_id)))::text;
END $$;
