-- auth 1: users and refresh-token sessions.  Runs with search_path = auth.
-- E-mails are stored normalised (trimmed, lower-case) by the plugin; the
-- CHECK keeps anyone else from storing another spelling of the same one.
CREATE TABLE auth.users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('tenant', 'landlord', 'admin')),
    password_hash text NOT NULL,               -- argon2id, libsodium's encoded form
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)))
);
CREATE UNIQUE INDEX users_email_key ON auth.users (email);

-- A session is a family of refresh tokens: login starts one, each refresh
-- marks the presented token used and adds its successor.  Only SHA-256 of
-- a token is stored.
CREATE TABLE auth.refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,                   -- rotated: presenting it again is reuse
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON auth.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON auth.refresh_tokens (user_id) WHERE revoked_at IS NULL;

-- Rotate p_old into p_new in one round trip.  o_outcome:
--   ok       p_new is the family's live token; o_user, o_role, o_family set
--   reused   p_old was already rotated: the whole family is revoked now
--   revoked, expired, unknown
-- FOR UPDATE serialises two refreshes of the same token: the second one
-- sees used_at set and is treated as reuse.
CREATE FUNCTION auth.rotate_refresh(p_old bytea, p_new bytea, p_now timestamptz, p_ttl interval,
                                    OUT o_outcome text, OUT o_user uuid, OUT o_role text,
                                    OUT o_family uuid)
LANGUAGE plpgsql AS $$
DECLARE
    t auth.refresh_tokens%ROWTYPE;
BEGIN
    SELECT * INTO t FROM auth.refresh_tokens WHERE token_hash = p_old FOR UPDATE;
    IF NOT FOUND THEN
        o_outcome := 'unknown';
        RETURN;
    END IF;
    o_user := t.user_id;
    o_family := t.family_id;
    IF t.revoked_at IS NOT NULL THEN
        o_outcome := 'revoked';
        RETURN;
    END IF;
    IF t.used_at IS NOT NULL THEN
        UPDATE auth.refresh_tokens SET revoked_at = p_now
         WHERE family_id = t.family_id AND revoked_at IS NULL;
        o_outcome := 'reused';
        RETURN;
    END IF;
    IF t.expires_at <= p_now THEN
        o_outcome := 'expired';
        RETURN;
    END IF;
    UPDATE auth.refresh_tokens SET used_at = p_now WHERE token_hash = p_old;
    INSERT INTO auth.refresh_tokens (token_hash, family_id, user_id, created_at, expires_at)
    VALUES (p_new, t.family_id, t.user_id, p_now, p_now + p_ttl);
    SELECT u.role INTO o_role FROM auth.users u WHERE u.id = t.user_id;
    o_outcome := 'ok';
END
$$;
