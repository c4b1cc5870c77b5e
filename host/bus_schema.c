/*
 * bus_schema.c — host migration 5: the outbox, rentezy.publish, consumer
 * positions and leases, the dead-letter store.  Append only: once released,
 * never edit this text (the checksum is recorded); add a migration instead.
 *
 * Why each piece is the way it is (docs/decisions/0004-event-bus.md):
 *
 * - outbox.xid is the publishing transaction's id.  Readers take only rows
 *   whose xid is below the xmin of their snapshot: every transaction that
 *   could still add a row there has ended, so a position (xid, seq) never
 *   passes an event that commits late.
 * - outbox_heads keeps, per (topic, subject), the xid of the last publisher.
 *   rentezy.publish upserts it before inserting the event, which (a) makes
 *   publishers of one subject wait for each other (a row lock held to
 *   commit), and (b) refuses, with SQLSTATE 40001, a publisher whose xid is
 *   below one that already committed an event of the subject.  Together:
 *   for one subject, xid order is commit order, so reading in xid order is
 *   reading in commit order.  The refused transaction is retried like any
 *   serialization failure and gets a new, larger xid.  Under REPEATABLE
 *   READ the upsert raises 40001 by itself when the head moved after the
 *   snapshot.
 * - part is a stable hash of the subject: a shared group hands out the 16
 *   partitions of a topic, one member per partition, so one subject is
 *   never processed by two members at once.
 * - target: a dead letter retried by an operator is re-published for one
 *   group only; other groups skip it.
 */
#include "bus_int.h"

const char rz__bus_schema_sql[] =
    "CREATE TABLE rentezy.outbox (\n"
    "    seq bigserial PRIMARY KEY,\n"
    "    id uuid NOT NULL DEFAULT gen_random_uuid(),\n"
    "    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),\n"
    "    topic text NOT NULL,\n"
    "    type text NOT NULL,\n"
    "    source text NOT NULL,\n"
    "    subject text NOT NULL,\n"
    "    version bigint NOT NULL DEFAULT 0,\n"
    "    time timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
    "    traceparent text,\n"
    "    data jsonb NOT NULL DEFAULT '{}',\n"
    "    target text,\n"
    "    part smallint NOT NULL GENERATED ALWAYS AS ((hashtext(subject) & 2147483647) % 16) STORED\n"
    ");\n"
    "CREATE INDEX outbox_read ON rentezy.outbox (topic, part, xid, seq);\n"
    "CREATE INDEX outbox_relay ON rentezy.outbox (xid, seq);\n"
    "\n"
    "CREATE TABLE rentezy.outbox_heads (\n"
    "    topic text NOT NULL,\n"
    "    subject text NOT NULL,\n"
    "    xid xid8 NOT NULL,\n"
    "    PRIMARY KEY (topic, subject)\n"
    ");\n"
    "\n"
    "CREATE FUNCTION rentezy.publish(p_topic text, p_type text, p_source text, p_subject text,\n"
    "                                p_version bigint, p_data jsonb, p_traceparent text DEFAULT NULL)\n"
    "RETURNS uuid LANGUAGE plpgsql AS $$\n"
    "DECLARE\n"
    "    v_id uuid := gen_random_uuid();\n"
    "    v_xid xid8 := pg_current_xact_id();\n"
    "    v_ok boolean;\n"
    "BEGIN\n"
    "    IF p_topic IS NULL OR p_topic !~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' OR length(p_topic) > 100 THEN\n"
    "        RAISE EXCEPTION 'rentezy.publish: bad topic %', coalesce(p_topic, 'NULL')\n"
    "            USING ERRCODE = '22023', HINT = 'topics look like booking-events';\n"
    "    END IF;\n"
    "    IF p_type IS NULL OR p_type !~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$' OR length(p_type) > 127 THEN\n"
    "        RAISE EXCEPTION 'rentezy.publish: bad event type %', coalesce(p_type, 'NULL')\n"
    "            USING ERRCODE = '22023', HINT = 'types look like booking.confirmed';\n"
    "    END IF;\n"
    "    IF p_subject IS NULL OR p_subject = '' OR p_source IS NULL OR p_source = '' THEN\n"
    "        RAISE EXCEPTION 'rentezy.publish: subject and source are required' USING ERRCODE = '22023';\n"
    "    END IF;\n"
    "    INSERT INTO rentezy.outbox_heads AS h (topic, subject, xid) VALUES (p_topic, p_subject, v_xid)\n"
    "        ON CONFLICT (topic, subject) DO UPDATE SET xid = EXCLUDED.xid WHERE h.xid <= EXCLUDED.xid\n"
    "        RETURNING true INTO v_ok;\n"
    "    IF v_ok IS NULL THEN\n"
    "        RAISE EXCEPTION 'rentezy.publish: a later transaction already published % %; retry', p_topic, p_subject\n"
    "            USING ERRCODE = '40001';\n"
    "    END IF;\n"
    "    INSERT INTO rentezy.outbox (id, xid, topic, type, source, subject, version, traceparent, data)\n"
    "        VALUES (v_id, v_xid, p_topic, p_type, p_source, p_subject, coalesce(p_version, 0),\n"
    "                p_traceparent, coalesce(p_data, '{}'));\n"
    "    PERFORM pg_notify('rentezy_bus', p_topic);\n"
    "    RETURN v_id;\n"
    "END $$;\n"
    "\n"
    "CREATE TABLE rentezy.bus_positions (\n"
    "    grp text NOT NULL,\n"
    "    topic text NOT NULL,\n"
    "    part int NOT NULL,\n"
    "    pos_xid xid8 NOT NULL DEFAULT '0',\n"
    "    pos_seq bigint NOT NULL DEFAULT 0,\n"
    "    owner text,\n"
    "    lease_until timestamptz,\n"
    "    epoch int NOT NULL DEFAULT 0,\n"
    "    broadcast_of text,\n"
    "    updated_at timestamptz NOT NULL DEFAULT now(),\n"
    "    PRIMARY KEY (grp, topic, part)\n"
    ");\n"
    "\n"
    "CREATE TABLE rentezy.bus_members (\n"
    "    grp text NOT NULL,\n"
    "    member text NOT NULL,\n"
    "    seen_at timestamptz NOT NULL,\n"
    "    PRIMARY KEY (grp, member)\n"
    ");\n"
    "\n"
    "CREATE TABLE rentezy.bus_dead (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    grp text NOT NULL,\n"
    "    topic text NOT NULL,\n"
    "    event_id text NOT NULL,\n"
    "    type text,\n"
    "    source text,\n"
    "    subject text,\n"
    "    version bigint,\n"
    "    time timestamptz,\n"
    "    traceparent text,\n"
    "    data text,\n"
    "    error text NOT NULL,\n"
    "    attempts int NOT NULL,\n"
    "    dead_at timestamptz NOT NULL DEFAULT now()\n"
    ");\n"
    "CREATE INDEX bus_dead_grp ON rentezy.bus_dead (grp, topic, id);\n"
    "\n"
    "CREATE TABLE rentezy.bus_replays (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    grp text NOT NULL,\n"
    "    topic text NOT NULL,\n"
    "    from_ms bigint NOT NULL,\n"
    "    requested_at timestamptz NOT NULL DEFAULT now()\n"
    ");\n"
    "\n"
    /* One round trip per subscription and tick: heartbeat, create the
     * group's rows, renew, give back what exceeds a fair share (never a
     * partition in the middle of a batch), claim free or expired ones up to
     * the share, and return what the member now owns. */
    "CREATE FUNCTION rentezy.bus_claim(p_grp text, p_topic text, p_member text, p_base text,\n"
    "                                  p_lease_ms bigint, p_latest boolean, p_busy int[])\n"
    "RETURNS TABLE (part int, pos_xid text, pos_seq bigint, epoch int) LANGUAGE plpgsql AS $$\n"
    "DECLARE\n"
    "    v_lease interval := p_lease_ms * interval '1 millisecond';\n"
    "    v_start xid8 := '0';\n"
    "    v_live int;\n"
    "    v_share int;\n"
    "    v_mine int;\n"
    "BEGIN\n"
    "    INSERT INTO rentezy.bus_members AS m (grp, member, seen_at)\n"
    "        VALUES (p_grp, p_member, clock_timestamp())\n"
    "        ON CONFLICT (grp, member) DO UPDATE SET seen_at = EXCLUDED.seen_at;\n"
    "    IF p_latest THEN\n"
    "        v_start := pg_snapshot_xmin(pg_current_snapshot());\n"
    "    END IF;\n"
    "    INSERT INTO rentezy.bus_positions (grp, topic, part, pos_xid, pos_seq, broadcast_of)\n"
    "        SELECT p_grp, p_topic, g, v_start, 0, p_base FROM generate_series(0, 15) AS g\n"
    "        ON CONFLICT DO NOTHING;\n"
    "    SELECT count(*) INTO v_live FROM rentezy.bus_members m\n"
    "        WHERE m.grp = p_grp AND m.seen_at > clock_timestamp() - v_lease;\n"
    "    v_share := ceil(16.0 / greatest(v_live, 1));\n"
    "    UPDATE rentezy.bus_positions b SET lease_until = clock_timestamp() + v_lease\n"
    "        WHERE b.grp = p_grp AND b.topic = p_topic AND b.owner = p_member;\n"
    "    GET DIAGNOSTICS v_mine = ROW_COUNT;\n"
    "    IF v_mine > v_share THEN\n"
    "        UPDATE rentezy.bus_positions b SET owner = NULL, lease_until = NULL\n"
    "            WHERE b.grp = p_grp AND b.topic = p_topic AND b.part IN (\n"
    "                SELECT c.part FROM rentezy.bus_positions c\n"
    "                WHERE c.grp = p_grp AND c.topic = p_topic AND c.owner = p_member\n"
    "                  AND NOT (c.part = ANY (coalesce(p_busy, '{}')))\n"
    "                ORDER BY c.part DESC LIMIT v_mine - v_share);\n"
    "    ELSIF v_mine < v_share THEN\n"
    "        UPDATE rentezy.bus_positions b SET owner = p_member,\n"
    "               lease_until = clock_timestamp() + v_lease, epoch = b.epoch + 1\n"
    "            WHERE b.grp = p_grp AND b.topic = p_topic AND b.part IN (\n"
    "                SELECT c.part FROM rentezy.bus_positions c\n"
    "                WHERE c.grp = p_grp AND c.topic = p_topic\n"
    "                  AND (c.owner IS NULL OR c.lease_until < clock_timestamp())\n"
    "                ORDER BY c.part FOR UPDATE SKIP LOCKED LIMIT v_share - v_mine);\n"
    "    END IF;\n"
    "    RETURN QUERY SELECT b.part, b.pos_xid::text, b.pos_seq, b.epoch FROM rentezy.bus_positions b\n"
    "        WHERE b.grp = p_grp AND b.topic = p_topic AND b.owner = p_member ORDER BY b.part;\n"
    "END $$;\n"
    "\n"
    /* Housekeeping, one caller at a time across pods: forget instances gone
     * for p_expiry (their broadcast groups too), then delete events older
     * than the retention that every group has consumed (and, with kafka,
     * the relay has sent), keeping the newest event per subject of the
     * compacted topics.  Heads below the xmin horizon are no longer needed
     * (every later publisher has a larger xid).  Returns events deleted. */
    "CREATE FUNCTION rentezy.bus_prune(p_retention_ms bigint, p_compacted text[], p_expiry_ms bigint,\n"
    "                                  p_relay boolean)\n"
    "RETURNS bigint LANGUAGE plpgsql AS $$\n"
    "DECLARE\n"
    "    v_cut timestamptz := clock_timestamp() - p_retention_ms * interval '1 millisecond';\n"
    "    v_gone timestamptz := clock_timestamp() - p_expiry_ms * interval '1 millisecond';\n"
    "    v_n bigint;\n"
    "BEGIN\n"
    "    IF NOT pg_try_advisory_xact_lock(7529475005) THEN\n"
    "        RETURN 0;\n"
    "    END IF;\n"
    "    DELETE FROM rentezy.bus_positions p WHERE p.broadcast_of IS NOT NULL AND NOT EXISTS (\n"
    "        SELECT 1 FROM rentezy.bus_members m WHERE m.grp = p.grp AND m.seen_at > v_gone);\n"
    "    DELETE FROM rentezy.bus_members m WHERE m.seen_at <= v_gone;\n"
    "    DELETE FROM rentezy.outbox o WHERE o.seq IN (\n"
    "        SELECT s.seq FROM rentezy.outbox s WHERE s.time < v_cut ORDER BY s.seq LIMIT 50000)\n"
    "      AND NOT EXISTS (SELECT 1 FROM rentezy.bus_positions p\n"
    "                      WHERE p.topic = o.topic AND p.part = o.part AND p.grp <> '_relay'\n"
    "                        AND (p.pos_xid, p.pos_seq) < (o.xid, o.seq))\n"
    "      AND (NOT p_relay OR EXISTS (SELECT 1 FROM rentezy.bus_positions r\n"
    "                      WHERE r.grp = '_relay' AND (r.pos_xid, r.pos_seq) >= (o.xid, o.seq)))\n"
    "      AND (NOT (o.topic = ANY (coalesce(p_compacted, '{}'))) OR EXISTS (\n"
    "            SELECT 1 FROM rentezy.outbox n WHERE n.topic = o.topic AND n.subject = o.subject\n"
    "               AND (n.xid, n.seq) > (o.xid, o.seq)));\n"
    "    GET DIAGNOSTICS v_n = ROW_COUNT;\n"
    "    DELETE FROM rentezy.outbox_heads h WHERE (h.topic, h.subject) IN (\n"
    "        SELECT k.topic, k.subject FROM rentezy.outbox_heads k\n"
    "        WHERE k.xid < pg_snapshot_xmin(pg_current_snapshot()) FOR UPDATE SKIP LOCKED);\n"
    "    RETURN v_n;\n"
    "END $$;\n";

/* Migration 6: pruning must be short.  It runs in a transaction that holds
 * an xid, and while it runs no consumer can pass the xmin horizon, so a
 * prune that scans the whole outbox stalls every delivery (seen: 3-6 s p99
 * in bench/40_bus.sh).  A BRIN index on time finds old rows without a scan
 * and costs nearly nothing on insert; each call deletes at most 5,000
 * events and 5,000 heads; the next tick goes on. */
const char rz__bus_schema_v6_sql[] =
    "CREATE INDEX outbox_time ON rentezy.outbox USING brin (time);\n"
    "CREATE OR REPLACE FUNCTION rentezy.bus_prune(p_retention_ms bigint, p_compacted text[],\n"
    "                                  p_expiry_ms bigint, p_relay boolean)\n"
    "RETURNS bigint LANGUAGE plpgsql AS $$\n"
    "DECLARE\n"
    "    v_cut timestamptz := clock_timestamp() - p_retention_ms * interval '1 millisecond';\n"
    "    v_gone timestamptz := clock_timestamp() - p_expiry_ms * interval '1 millisecond';\n"
    "    v_n bigint;\n"
    "BEGIN\n"
    "    IF NOT pg_try_advisory_xact_lock(7529475005) THEN\n"
    "        RETURN 0;\n"
    "    END IF;\n"
    "    DELETE FROM rentezy.bus_positions p WHERE p.broadcast_of IS NOT NULL AND NOT EXISTS (\n"
    "        SELECT 1 FROM rentezy.bus_members m WHERE m.grp = p.grp AND m.seen_at > v_gone);\n"
    "    DELETE FROM rentezy.bus_members m WHERE m.seen_at <= v_gone;\n"
    "    DELETE FROM rentezy.outbox o WHERE o.seq IN (\n"
    "        SELECT s.seq FROM rentezy.outbox s WHERE s.time < v_cut\n"
    "          AND NOT EXISTS (SELECT 1 FROM rentezy.bus_positions p\n"
    "                      WHERE p.topic = s.topic AND p.part = s.part AND p.grp <> '_relay'\n"
    "                        AND (p.pos_xid, p.pos_seq) < (s.xid, s.seq))\n"
    "          AND (NOT p_relay OR EXISTS (SELECT 1 FROM rentezy.bus_positions r\n"
    "                      WHERE r.grp = '_relay' AND (r.pos_xid, r.pos_seq) >= (s.xid, s.seq)))\n"
    "          AND (NOT (s.topic = ANY (coalesce(p_compacted, '{}'))) OR EXISTS (\n"
    "                SELECT 1 FROM rentezy.outbox n WHERE n.topic = s.topic AND n.subject = s.subject\n"
    "                   AND (n.xid, n.seq) > (s.xid, s.seq)))\n"
    "        LIMIT 5000);\n"
    "    GET DIAGNOSTICS v_n = ROW_COUNT;\n"
    "    DELETE FROM rentezy.outbox_heads h WHERE (h.topic, h.subject) IN (\n"
    "        SELECT k.topic, k.subject FROM rentezy.outbox_heads k\n"
    "        WHERE k.xid < pg_snapshot_xmin(pg_current_snapshot()) LIMIT 5000 FOR UPDATE SKIP LOCKED);\n"
    "    RETURN v_n;\n"
    "END $$;\n";

/* Migration 7: the BRIN index stops helping once the outbox churns (the
 * WebSocket fan-out deletes its batches after a minute and new rows reuse
 * the space, so every block range spans every time): the scan for old rows
 * then read most of the table, in a transaction that holds back every
 * consumer (1.4 s seen in bench/80_chat.sh).  Old rows are found by seq
 * instead: the first row that is young enough bounds a range of the primary
 * key, so a call costs what it deletes, and nearly nothing when nothing is
 * old.  (seq and time rise together; a row a little out of order waits for
 * the next call.)  The fan-out deletes its own batches the same way, by seq,
 * over a partial index of its topic (host/ws_fanout.c). */
const char rz__bus_schema_v7_sql[] =
    "CREATE INDEX outbox_ws_push ON rentezy.outbox (seq) WHERE topic = 'ws-push';\n"
    "CREATE OR REPLACE FUNCTION rentezy.bus_prune(p_retention_ms bigint, p_compacted text[],\n"
    "                                  p_expiry_ms bigint, p_relay boolean)\n"
    "RETURNS bigint LANGUAGE plpgsql AS $$\n"
    "DECLARE\n"
    "    v_cut timestamptz := clock_timestamp() - p_retention_ms * interval '1 millisecond';\n"
    "    v_gone timestamptz := clock_timestamp() - p_expiry_ms * interval '1 millisecond';\n"
    "    v_bound bigint;\n"
    "    v_n bigint;\n"
    "BEGIN\n"
    "    IF NOT pg_try_advisory_xact_lock(7529475005) THEN\n"
    "        RETURN 0;\n"
    "    END IF;\n"
    "    DELETE FROM rentezy.bus_positions p WHERE p.broadcast_of IS NOT NULL AND NOT EXISTS (\n"
    "        SELECT 1 FROM rentezy.bus_members m WHERE m.grp = p.grp AND m.seen_at > v_gone);\n"
    "    DELETE FROM rentezy.bus_members m WHERE m.seen_at <= v_gone;\n"
    "    SELECT f.seq INTO v_bound FROM rentezy.outbox f WHERE f.time >= v_cut ORDER BY f.seq LIMIT 1;\n"
    "    DELETE FROM rentezy.outbox o WHERE o.seq IN (\n"
    "        SELECT s.seq FROM rentezy.outbox s\n"
    "         WHERE s.seq < coalesce(v_bound, 9223372036854775807) AND s.time < v_cut\n"
    "          AND NOT EXISTS (SELECT 1 FROM rentezy.bus_positions p\n"
    "                      WHERE p.topic = s.topic AND p.part = s.part AND p.grp <> '_relay'\n"
    "                        AND (p.pos_xid, p.pos_seq) < (s.xid, s.seq))\n"
    "          AND (NOT p_relay OR EXISTS (SELECT 1 FROM rentezy.bus_positions r\n"
    "                      WHERE r.grp = '_relay' AND (r.pos_xid, r.pos_seq) >= (s.xid, s.seq)))\n"
    "          AND (NOT (s.topic = ANY (coalesce(p_compacted, '{}'))) OR EXISTS (\n"
    "                SELECT 1 FROM rentezy.outbox n WHERE n.topic = s.topic AND n.subject = s.subject\n"
    "                   AND (n.xid, n.seq) > (s.xid, s.seq)))\n"
    "         ORDER BY s.seq LIMIT 5000);\n"
    "    GET DIAGNOSTICS v_n = ROW_COUNT;\n"
    "    DELETE FROM rentezy.outbox_heads h WHERE (h.topic, h.subject) IN (\n"
    "        SELECT k.topic, k.subject FROM rentezy.outbox_heads k\n"
    "        WHERE k.xid < pg_snapshot_xmin(pg_current_snapshot()) LIMIT 5000 FOR UPDATE SKIP LOCKED);\n"
    "    RETURN v_n;\n"
    "END $$;\n";
