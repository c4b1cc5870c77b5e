-- chat: conversations between a tenant and the landlord of a listing, their
-- messages (one sequence per conversation), read positions, presence, and
-- chat's own read model of listings (fed by property-events).

-- What chat knows of a listing: who owns it and whether it is public.
-- Written only by apply_property; a lower version never overwrites a higher.
CREATE TABLE properties (
    id         uuid PRIMARY KEY,
    version    bigint NOT NULL,
    owner_id   text NOT NULL,
    published  boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversations (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id   uuid NOT NULL,
    tenant_id     text NOT NULL,
    landlord_id   text NOT NULL,
    last_seq      bigint NOT NULL DEFAULT 0,  -- the counter messages.seq comes from
    tenant_read   bigint NOT NULL DEFAULT 0,  -- last seq each member has read
    landlord_read bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (property_id, tenant_id),
    CHECK (tenant_id <> landlord_id)
);
CREATE INDEX conversations_tenant ON conversations (tenant_id, last_at DESC, id);
CREATE INDEX conversations_landlord ON conversations (landlord_id, last_at DESC, id);

CREATE TABLE messages (
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    id              uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    sender_id       text NOT NULL,
    client_msg_id   text NOT NULL,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, client_msg_id)
);

-- One row per user and worker holding at least one of the user's
-- connections.  A worker refreshes its rows' lease; rows of a dead worker
-- expire and are swept by any other worker.
CREATE TABLE presence (
    user_id    text NOT NULL,
    node       text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, node)
);
CREATE INDEX presence_node ON presence (node);
CREATE INDEX presence_expiry ON presence (expires_at);

CREATE FUNCTION ts(t timestamptz) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

CREATE FUNCTION msg_json(m chat.messages) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', m.id, 'conversation_id', m.conversation_id, 'seq', m.seq,
        'sender_id', m.sender_id, 'client_msg_id', m.client_msg_id, 'body', m.body,
        'created_at', chat.ts(m.created_at))
$$;

CREATE FUNCTION online(p_user text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM chat.presence p WHERE p.user_id = p_user AND p.expires_at > now())
$$;

-- A conversation as its member `viewer` sees it.
CREATE FUNCTION conv_json(c chat.conversations, viewer text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', c.id, 'property_id', c.property_id,
        'tenant_id', c.tenant_id, 'landlord_id', c.landlord_id,
        'other_id', CASE WHEN viewer = c.tenant_id THEN c.landlord_id ELSE c.tenant_id END,
        'last_seq', c.last_seq,
        'read_seq', CASE WHEN viewer = c.tenant_id THEN c.tenant_read ELSE c.landlord_read END,
        'other_read_seq', CASE WHEN viewer = c.tenant_id THEN c.landlord_read ELSE c.tenant_read END,
        'unread', (SELECT count(*) FROM chat.messages m WHERE m.conversation_id = c.id
                    AND m.seq > CASE WHEN viewer = c.tenant_id THEN c.tenant_read ELSE c.landlord_read END
                    AND m.sender_id <> viewer),
        'last_message', (SELECT chat.msg_json(m) FROM chat.messages m
                          WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1),
        'other_online', chat.online(CASE WHEN viewer = c.tenant_id THEN c.landlord_id ELSE c.tenant_id END),
        'created_at', chat.ts(c.created_at), 'last_activity_at', chat.ts(c.last_at))
$$;

CREATE FUNCTION apply_property(p_id uuid, p_version bigint, s jsonb) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    IF s->>'owner_id' IS NULL THEN
        RETURN 'ignored';
    END IF;
    INSERT INTO chat.properties AS p (id, version, owner_id, published)
    VALUES (p_id, p_version, s->>'owner_id', coalesce(s->>'status' = 'published', false))
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, owner_id = EXCLUDED.owner_id,
        published = EXCLUDED.published, updated_at = now()
        WHERE p.version < EXCLUDED.version;
    RETURN CASE WHEN FOUND THEN 'applied' ELSE 'stale' END;
END $$;

-- status: created | exists | no_property | own_property
CREATE FUNCTION open(p_property uuid, p_tenant text, OUT status text, OUT conv jsonb)
    LANGUAGE plpgsql AS $$
DECLARE
    v_owner text;
    c chat.conversations;
BEGIN
    SELECT * INTO c FROM chat.conversations WHERE property_id = p_property AND tenant_id = p_tenant;
    IF FOUND THEN
        status := 'exists';
        conv := chat.conv_json(c, p_tenant);
        RETURN;
    END IF;
    SELECT owner_id INTO v_owner FROM chat.properties WHERE id = p_property AND published;
    IF NOT FOUND THEN
        status := 'no_property';
        RETURN;
    END IF;
    IF v_owner = p_tenant THEN
        status := 'own_property';
        RETURN;
    END IF;
    INSERT INTO chat.conversations (property_id, tenant_id, landlord_id)
    VALUES (p_property, p_tenant, v_owner)
    ON CONFLICT (property_id, tenant_id) DO NOTHING RETURNING * INTO c;
    status := 'created';
    IF c.id IS NULL THEN -- a concurrent open won
        SELECT * INTO c FROM chat.conversations WHERE property_id = p_property AND tenant_id = p_tenant;
        status := 'exists';
    END IF;
    conv := chat.conv_json(c, p_tenant);
END $$;

-- Store a message: the conversation row is locked, so seq = last_seq + 1
-- has no gaps and no duplicates; a client_msg_id already stored returns the
-- stored message (status duplicate) and stores nothing.  chat.message_sent
-- is published in the same transaction.
-- The event's data: the message without its body, recipient_id,
-- recipient_online (notify reaches only members who are offline),
-- property_id and a 140-character preview.
-- status: sent | duplicate | not_found (not a member: existence must not leak)
CREATE FUNCTION send(p_conv uuid, p_sender text, p_client text, p_body text, p_trace text,
                     OUT status text, OUT recipient text, OUT msg jsonb)
    LANGUAGE plpgsql AS $$
DECLARE
    c chat.conversations;
    m chat.messages;
BEGIN
    SELECT * INTO c FROM chat.conversations
     WHERE id = p_conv AND p_sender IN (tenant_id, landlord_id) FOR UPDATE;
    IF NOT FOUND THEN
        status := 'not_found';
        RETURN;
    END IF;
    recipient := CASE WHEN p_sender = c.tenant_id THEN c.landlord_id ELSE c.tenant_id END;
    SELECT * INTO m FROM chat.messages WHERE conversation_id = p_conv AND client_msg_id = p_client;
    IF FOUND THEN
        status := 'duplicate';
        msg := chat.msg_json(m);
        RETURN;
    END IF;
    UPDATE chat.conversations SET last_seq = last_seq + 1, last_at = now(),
        tenant_read = CASE WHEN p_sender = tenant_id THEN last_seq + 1 ELSE tenant_read END,
        landlord_read = CASE WHEN p_sender = landlord_id THEN last_seq + 1 ELSE landlord_read END
     WHERE id = p_conv RETURNING last_seq INTO c.last_seq;
    INSERT INTO chat.messages (conversation_id, seq, sender_id, client_msg_id, body)
    VALUES (p_conv, c.last_seq, p_sender, p_client, p_body) RETURNING * INTO m;
    msg := chat.msg_json(m);
    PERFORM rentezy.publish('chat-events', 'chat.message_sent', 'chat', p_conv::text, m.seq,
        (msg - 'body') || jsonb_build_object('recipient_id', recipient,
            'recipient_online', chat.online(recipient),
            'property_id', c.property_id, 'preview', left(p_body, 140)), p_trace);
    status := 'sent';
END $$;

-- Many sends in one transaction and one statement (what the plugin uses, so
-- a burst costs one commit): the same rules as chat.send, one result row
-- per input in input order.  The conversations are locked first, in id
-- order, so two batches touching the same conversations cannot deadlock;
-- seqs continue last_seq in input order; a client_msg_id stored before, or
-- earlier in the batch, is a duplicate; a sender's read position moves to
-- its last message.
CREATE FUNCTION send_many(p_convs uuid[], p_senders text[], p_clients text[], p_bodies text[])
    RETURNS TABLE (status text, recipient text, msg text) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM chat.conversations c WHERE c.id = ANY (p_convs) ORDER BY c.id FOR UPDATE;
    RETURN QUERY
    WITH inp AS (
        SELECT u.k, u.conv, u.sender, u.client, u.body, c.id IS NOT NULL AS member,
               c.tenant_id, c.landlord_id, c.last_seq, c.property_id
          FROM unnest(p_convs, p_senders, p_clients, p_bodies) WITH ORDINALITY AS u(conv, sender, client, body, k)
          LEFT JOIN chat.conversations c ON c.id = u.conv AND u.sender IN (c.tenant_id, c.landlord_id)
    ), old AS (
        SELECT i.k, chat.msg_json(m)::text AS msg
          FROM inp i JOIN chat.messages m ON m.conversation_id = i.conv AND m.client_msg_id = i.client
         WHERE i.member
    ), fresh AS (
        SELECT DISTINCT ON (i.conv, i.client) i.* FROM inp i
         WHERE i.member AND NOT EXISTS (SELECT 1 FROM old o WHERE o.k = i.k)
         ORDER BY i.conv, i.client, i.k
    ), numbered AS (
        SELECT f.*, f.last_seq + row_number() OVER (PARTITION BY f.conv ORDER BY f.k) AS seq FROM fresh f
    ), ins AS (
        INSERT INTO chat.messages (conversation_id, seq, sender_id, client_msg_id, body)
        SELECT n.conv, n.seq, n.sender, n.client, n.body FROM numbered n
        RETURNING *
    ), upd AS (
        UPDATE chat.conversations c SET last_seq = x.top, last_at = now(),
               tenant_read = greatest(c.tenant_read, coalesce(x.t_top, 0)),
               landlord_read = greatest(c.landlord_read, coalesce(x.l_top, 0))
          FROM (SELECT n.conv, max(n.seq) AS top,
                       max(n.seq) FILTER (WHERE n.sender = n.tenant_id) AS t_top,
                       max(n.seq) FILTER (WHERE n.sender = n.landlord_id) AS l_top
                  FROM numbered n GROUP BY n.conv) x
         WHERE c.id = x.conv
        RETURNING c.id
    ), sent AS (
        SELECT n.k, n.conv, n.client, chat.msg_json(m) AS j, n.property_id,
               CASE WHEN n.sender = n.tenant_id THEN n.landlord_id ELSE n.tenant_id END AS other, n.body
          FROM numbered n JOIN ins m ON m.conversation_id = n.conv AND m.seq = n.seq
    ), pub AS (
        SELECT s.k, rentezy.publish('chat-events', 'chat.message_sent', 'chat', s.conv::text,
                   (s.j->>'seq')::bigint, (s.j - 'body') || jsonb_build_object('recipient_id', s.other,
                   'recipient_online', chat.online(s.other),
                   'property_id', s.property_id, 'preview', left(s.body, 140)), NULL) AS ev
          FROM sent s ORDER BY s.k
    )
    SELECT CASE WHEN NOT i.member THEN 'not_found'
                WHEN o.k IS NOT NULL OR s.k <> i.k THEN 'duplicate' ELSE 'sent' END,
           CASE WHEN i.sender = i.tenant_id THEN i.landlord_id ELSE i.tenant_id END,
           coalesce(o.msg, s.j::text)
      FROM inp i
      LEFT JOIN old o ON o.k = i.k
      LEFT JOIN sent s ON s.conv = i.conv AND s.client = i.client
     WHERE (SELECT count(*) FROM pub) >= 0 AND (SELECT count(*) FROM upd) >= 0
     ORDER BY i.k;
END $$;

-- Everyone who shares a conversation with p_user (at most 1000).
CREATE FUNCTION contacts(p_user text) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    (SELECT landlord_id FROM chat.conversations WHERE tenant_id = p_user
     UNION SELECT tenant_id FROM chat.conversations WHERE landlord_id = p_user) LIMIT 1000
$$;

-- The presence of one worker (node), brought up to date in one statement;
-- a worker runs one at a time, so its changes apply in order.
--   p_up    users it holds now and had not told yet
--   p_down  users it no longer holds
--   p_all   every user it holds (the heartbeat), or NULL
-- Renews (or restores) the leases of p_up and p_all, drops the node's rows
-- of p_down (and, with p_all, of everyone not in it), deletes every expired
-- row (a dead worker's or pod's), and returns (user, contact, online) for
-- every user who thereby came online or went offline everywhere.
CREATE FUNCTION presence_sync(p_node text, p_ttl_ms bigint, p_up text[], p_down text[],
                              p_all text[])
    RETURNS TABLE (user_id text, contact text, online boolean) LANGUAGE plpgsql AS $$
DECLARE
    v_exp timestamptz := now() + p_ttl_ms * interval '1 millisecond';
    v_new text[];
    v_gone text[];
BEGIN
    SELECT coalesce(array_agg(DISTINCT u), '{}') INTO v_new FROM unnest(p_up) u
     WHERE NOT EXISTS (SELECT 1 FROM chat.presence p WHERE p.user_id = u AND p.expires_at > now());
    INSERT INTO chat.presence AS p (user_id, node, expires_at)
    SELECT DISTINCT u, p_node, v_exp FROM unnest(p_up || coalesce(p_all, '{}')) u
    ON CONFLICT ON CONSTRAINT presence_pkey DO UPDATE SET expires_at = EXCLUDED.expires_at;
    DELETE FROM chat.presence p WHERE p.node = p_node AND p.user_id = ANY (p_down);
    IF p_all IS NOT NULL THEN
        DELETE FROM chat.presence p  -- NOT IN a subquery: hashed, not n x m
         WHERE p.node = p_node AND p.user_id NOT IN (SELECT unnest(p_all));
    END IF;
    WITH gone AS (DELETE FROM chat.presence p WHERE p.expires_at < now() RETURNING p.user_id)
    SELECT coalesce(array_agg(DISTINCT s.x), '{}') INTO v_gone
      FROM (SELECT g.user_id AS x FROM gone g UNION SELECT unnest(p_down)) s
     WHERE NOT EXISTS (SELECT 1 FROM chat.presence p WHERE p.user_id = s.x AND p.expires_at > now());
    RETURN QUERY
        SELECT u, chat.contacts(u), true FROM unnest(v_new) u
        UNION ALL
        SELECT u, chat.contacts(u), false FROM unnest(v_gone) u;
END $$;
