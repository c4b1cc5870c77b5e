/*
 * bus_cli.c — `rentezyd bus ...`: status, replay, dead letters.  Blocking
 * libpq against [database] url; nothing here runs inside a worker.
 *
 *   bus status
 *   bus replay --group G --topic T (--from-start | --from TIME)
 *   bus dlq list [--group G] [--topic T] [--limit N]
 *   bus dlq retry (ID... | --all) [--group G] [--topic T]
 *   bus dlq drop  (ID... | --all) [--group G] [--topic T]
 *
 * A replay moves the group's positions (embedded) or records a request the
 * group's Kafka consumers pick up within a few seconds (kafka).  Either way
 * the live owners notice: their next commit fails the epoch check and they
 * re-read the position.  A retried dead letter is published again for its
 * group only (outbox.target), so other groups do not see it twice.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "bus_int.h"
#include "db.h"
#include "host.h"

static const char usage[] =
    "usage: rentezyd bus status\n"
    "       rentezyd bus replay --group G --topic T (--from-start | --from TIME)\n"
    "       rentezyd bus dlq list [--group G] [--topic T] [--limit N]\n"
    "       rentezyd bus dlq retry (ID... | --all) [--group G] [--topic T]\n"
    "       rentezyd bus dlq drop (ID... | --all) [--group G] [--topic T]\n"
    "TIME is anything PostgreSQL reads as timestamptz ('2026-11-25 14:00Z', 'yesterday').\n";

static PGconn *connect_db(void)
{
    const char *url = rz__db_opts()->url;
    if (!url) {
        fprintf(stderr, "rentezyd bus: no [database] url configured\n");
        return NULL;
    }
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "rentezyd bus: cannot connect to the database: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

/* Run a statement; on failure print the server's message.  Caller PQclears. */
static PGresult *run(PGconn *c, const char *sql, int n, const char *const *p)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        fprintf(stderr, "rentezyd bus: %s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

static void print_table(PGresult *r)
{
    int nc = PQnfields(r), nr = PQntuples(r);
    int *w = calloc((size_t)nc, sizeof(*w));
    if (!w)
        return;
    for (int j = 0; j < nc; j++) {
        w[j] = (int)strlen(PQfname(r, j));
        for (int i = 0; i < nr; i++)
            if ((int)strlen(PQgetvalue(r, i, j)) > w[j])
                w[j] = (int)strlen(PQgetvalue(r, i, j));
    }
    for (int j = 0; j < nc; j++)
        printf("%-*s%s", w[j], PQfname(r, j), j + 1 < nc ? "  " : "\n");
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nc; j++)
            printf("%-*s%s", w[j], PQgetvalue(r, i, j), j + 1 < nc ? "  " : "\n");
    free(w);
}

/* Kafka keeps the group offsets: ask it, for every group and topic that
 * consumers recorded in rentezy.bus_members (bus_kafka.c, heartbeat).
 * Lag = end offset - committed offset (the start when nothing is
 * committed), summed over the topic's partitions. */
static rd_kafka_t *kafka_handle(const char *group, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", rz__bus_opts.brokers, err, errlen) ||
        rd_kafka_conf_set(conf, "group.id", group, err, errlen) ||
        rd_kafka_conf_set(conf, "log_level", "2", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (char **kv = rz__bus_opts.kprops; kv && kv[0] && kv[1]; kv += 2)
        if (rd_kafka_conf_set(conf, kv[0], kv[1], err, errlen) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

static void kafka_group_row(const char *group, const char *topic, const char *members,
                            const char *seen)
{
    char err[256];
    long long committed = 0, end = 0, lag = 0;
    int nparts = 0;
    const char *fail = NULL;
    rd_kafka_t *rk = kafka_handle(group, err, sizeof(err));
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *l = NULL;
    if (!rk) {
        fail = err;
    } else if (rd_kafka_metadata(rk, 1, NULL, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fail = "Kafka unreachable"; /* all topics: asking for one would create it */
    } else {
        const struct rd_kafka_metadata_topic *mt = NULL;
        for (int i = 0; i < md->topic_cnt && !mt; i++)
            if (strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err)
                mt = &md->topics[i];
        nparts = mt ? mt->partition_cnt : 0;
        if (!mt)
            fail = "no such topic in Kafka";
        l = rd_kafka_topic_partition_list_new(nparts > 0 ? nparts : 1);
        for (int i = 0; i < nparts; i++)
            rd_kafka_topic_partition_list_add(l, topic, mt->partitions[i].id);
        if (!fail && rd_kafka_committed(rk, l, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            fail = "Kafka unreachable";
        for (int i = 0; !fail && i < l->cnt; i++) {
            int64_t lo, hi;
            if (rd_kafka_query_watermark_offsets(rk, topic, l->elems[i].partition, &lo, &hi,
                                                 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fail = "Kafka unreachable";
                break;
            }
            int64_t at = l->elems[i].offset >= 0 ? l->elems[i].offset : lo;
            committed += l->elems[i].offset >= 0 ? l->elems[i].offset : 0;
            end += hi;
            lag += hi > at ? hi - at : 0;
        }
    }
    if (fail)
        printf("%-40s %-28s %7s %10s %10s %8s %s  (%s)\n", group, topic, members, "?", "?", "?",
               seen, fail);
    else
        printf("%-40s %-28s %7s %10lld %10lld %8lld %s\n", group, topic, members, committed, end,
               lag, seen);
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rk)
        rd_kafka_destroy(rk);
}

static int kafka_groups(PGconn *c)
{
    static const char sql[] =
        "SELECT substr(grp, 7), split_part(member, '/', 1) AS topic, "
        "count(*) FILTER (WHERE seen_at > clock_timestamp() - interval '10 seconds') AS live, "
        "to_char(max(seen_at), 'YYYY-MM-DD HH24:MI:SS') FROM rentezy.bus_members "
        "WHERE grp LIKE 'kafka/%' GROUP BY 1, 2 ORDER BY 2, 1";
    PGresult *r = run(c, sql, 0, NULL);
    if (!r)
        return 1;
    printf("\ngroups (offsets from Kafka)\n%-40s %-28s %7s %10s %10s %8s %s\n", "group", "topic",
           "members", "committed", "end", "lag", "last seen");
    for (int i = 0; i < PQntuples(r); i++)
        kafka_group_row(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                        PQgetvalue(r, i, 3));
    PQclear(r);
    return 0;
}

static int status(PGconn *c)
{
    /* Lag counts events after each partition's position; position shows
     * the highest committed sequence number. */
    static const char groups[] =
        "SELECT p.grp AS \"group\", p.topic, count(*) AS partitions, "
        "count(DISTINCT p.owner) AS members, coalesce(max(p.pos_seq), 0) AS position, "
        "coalesce(sum(l.n), 0) AS lag, "
        "(SELECT count(*) FROM rentezy.bus_dead d WHERE d.grp = p.grp AND d.topic = p.topic) "
        "AS dead FROM rentezy.bus_positions p LEFT JOIN LATERAL (SELECT count(*) AS n FROM "
        "rentezy.outbox o WHERE o.topic = p.topic AND o.part = p.part AND (o.xid, o.seq) > "
        "(p.pos_xid, p.pos_seq)) l ON true WHERE p.grp <> '_relay' GROUP BY p.grp, p.topic "
        "ORDER BY p.topic, p.grp";
    static const char topics[] =
        "SELECT topic, count(*) AS events, coalesce(max(seq), 0) AS last_seq, "
        "to_char(min(time), 'YYYY-MM-DD HH24:MI:SS') AS oldest FROM rentezy.outbox "
        "GROUP BY topic ORDER BY topic";
    static const char relay[] =
        "SELECT coalesce((SELECT owner FROM rentezy.bus_positions WHERE grp = '_relay'), '-') "
        "AS relay, coalesce((SELECT pos_seq FROM rentezy.bus_positions WHERE grp = '_relay'), 0) "
        "AS position, (SELECT count(*) FROM rentezy.outbox o WHERE NOT EXISTS (SELECT 1 FROM "
        "rentezy.bus_positions r WHERE r.grp = '_relay' AND (r.pos_xid, r.pos_seq) >= (o.xid, "
        "o.seq))) AS waiting";
    PGresult *r;
    printf("backend: %s\n\n", rz__bus_opts.backend == RZ_BUS_KAFKA ? "kafka" : "embedded");
    if (!(r = run(c, topics, 0, NULL)))
        return 1;
    printf("topics (outbox)\n");
    print_table(r);
    PQclear(r);
    if (rz__bus_opts.backend == RZ_BUS_KAFKA) {
        if (!(r = run(c, relay, 0, NULL)))
            return 1;
        printf("\nrelay\n");
        print_table(r);
        PQclear(r);
        return kafka_groups(c);
    }
    if (!(r = run(c, groups, 0, NULL)))
        return 1;
    printf("\ngroups\n");
    print_table(r);
    PQclear(r);
    return 0;
}

static int replay(PGconn *c, const char *group, const char *topic, const char *from)
{
    static const char sql[] =
        "UPDATE rentezy.bus_positions p SET "
        "pos_xid = CASE WHEN f.seq IS NOT NULL THEN f.xid WHEN l.seq IS NOT NULL THEN l.xid "
        "ELSE '0'::xid8 END, "
        "pos_seq = CASE WHEN f.seq IS NOT NULL THEN f.seq - 1 WHEN l.seq IS NOT NULL THEN l.seq "
        "ELSE 0 END, owner = NULL, lease_until = NULL, epoch = p.epoch + 1, updated_at = now() "
        "FROM rentezy.bus_positions q "
        "LEFT JOIN LATERAL (SELECT o.xid, o.seq FROM rentezy.outbox o WHERE o.topic = q.topic "
        "AND o.part = q.part AND o.time >= $3::timestamptz ORDER BY o.xid, o.seq LIMIT 1) f ON true "
        "LEFT JOIN LATERAL (SELECT o.xid, o.seq FROM rentezy.outbox o WHERE o.topic = q.topic "
        "AND o.part = q.part ORDER BY o.xid DESC, o.seq DESC LIMIT 1) l ON true "
        "WHERE p.grp = q.grp AND p.topic = q.topic AND p.part = q.part "
        "AND (q.grp = $1 OR q.broadcast_of = $1) AND q.topic = $2";
    static const char kafka_sql[] =
        "INSERT INTO rentezy.bus_replays (grp, topic, from_ms) VALUES ($1, $2, "
        "CASE WHEN $3::timestamptz = '-infinity' THEN -2 "
        "ELSE (extract(epoch FROM $3::timestamptz) * 1000)::bigint END)";
    const char *p[] = {group, topic, from};
    PGresult *r = run(c, rz__bus_opts.backend == RZ_BUS_KAFKA ? kafka_sql : sql, 3, p);
    if (!r)
        return 1;
    long n = atol(PQcmdTuples(r));
    PQclear(r);
    if (n == 0) {
        fprintf(stderr, "rentezyd bus: group '%s' has no positions on topic '%s' "
                        "(see `rentezyd bus status`)\n", group, topic);
        return 1;
    }
    if (rz__bus_opts.backend == RZ_BUS_KAFKA)
        printf("replay of %s for group %s requested from %s; consumers apply it within a few "
               "seconds\n", topic, group, from);
    else
        printf("group %s replays %s from %s (%ld partitions reset)\n", group, topic, from, n);
    return 0;
}

/* "{1,2,3}" from argv ids; NULL when one is not a number. */
static char *id_array(int argc, char **argv)
{
    size_t cap = 3;
    for (int i = 0; i < argc; i++)
        cap += strlen(argv[i]) + 1;
    char *s = malloc(cap), *w = s;
    if (!s)
        return NULL;
    *w++ = '{';
    for (int i = 0; i < argc; i++) {
        if (!*argv[i] || strspn(argv[i], "0123456789") != strlen(argv[i])) {
            fprintf(stderr, "rentezyd bus: '%s' is not a dead letter id\n", argv[i]);
            free(s);
            return NULL;
        }
        w += sprintf(w, "%s%s", i ? "," : "", argv[i]);
    }
    *w++ = '}';
    *w = '\0';
    return s;
}

#define DLQ_FILTER                                                                     \
    "(($1::bigint[] IS NULL) OR id = ANY ($1::bigint[])) AND ($2::text IS NULL OR grp = $2 " \
    "OR grp LIKE $2 || ':%') AND ($3::text IS NULL OR topic = $3)"

static int dlq(PGconn *c, const char *what, int argc, char **argv, const char *group,
               const char *topic, int all, const char *limit)
{
    static const char list_sql[] =
        "SELECT id, to_char(dead_at, 'YYYY-MM-DD HH24:MI:SS') AS dead_at, grp AS \"group\", "
        "topic, type, subject, attempts, left(error, 80) AS error FROM rentezy.bus_dead WHERE "
        DLQ_FILTER " ORDER BY id LIMIT $4::int";
    static const char drop_sql[] = "DELETE FROM rentezy.bus_dead WHERE " DLQ_FILTER;
    static const char retry_sql[] =
        "WITH d AS (DELETE FROM rentezy.bus_dead WHERE " DLQ_FILTER " RETURNING *), "
        "i AS (INSERT INTO rentezy.outbox (id, topic, type, source, subject, version, time, "
        "traceparent, data, target) SELECT CASE WHEN d.event_id ~ "
        "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN d.event_id::uuid "
        "ELSE gen_random_uuid() END, d.topic, d.type, d.source, d.subject, coalesce(d.version, 0), "
        "coalesce(d.time, now()), d.traceparent, d.data::jsonb, split_part(d.grp, ':', 1) "
        "FROM d ORDER BY d.id RETURNING topic) "
        "SELECT count(*), count(pg_notify('rentezy_bus', topic)) FROM i";
    char *ids = NULL;
    if (strcmp(what, "list") != 0) {
        if (!all && argc == 0) {
            fprintf(stderr, "rentezyd bus: dlq %s needs ids or --all\n%s", what, usage);
            return 2;
        }
        if (!all && !(ids = id_array(argc, argv)))
            return 2;
    }
    const char *p[] = {ids, group, topic, limit};
    PGresult *r;
    int rc = 1;
    if (strcmp(what, "list") == 0) {
        if ((r = run(c, list_sql, 4, p)) != NULL) {
            print_table(r);
            PQclear(r);
            rc = 0;
        }
    } else if (strcmp(what, "drop") == 0) {
        if ((r = run(c, drop_sql, 3, p)) != NULL) {
            printf("dropped %s dead letters\n", PQcmdTuples(r));
            PQclear(r);
            rc = 0;
        }
    } else if (strcmp(what, "retry") == 0) {
        if ((r = run(c, retry_sql, 3, p)) != NULL) {
            printf("retrying %s dead letters\n", PQgetvalue(r, 0, 0));
            PQclear(r);
            rc = 0;
        } else {
            fprintf(stderr, "(an event whose data is not JSON cannot be retried; drop it)\n");
        }
    } else {
        fprintf(stderr, "rentezyd bus: unknown dlq command '%s'\n%s", what, usage);
        rc = 2;
    }
    free(ids);
    return rc;
}

int rz__bus_cli(int argc, char **argv)
{
    enum { O_GROUP = 1, O_TOPIC, O_FROM, O_START, O_ALL, O_LIMIT };
    static const struct option opts[] = {{"group", required_argument, NULL, O_GROUP},
                                         {"topic", required_argument, NULL, O_TOPIC},
                                         {"from", required_argument, NULL, O_FROM},
                                         {"from-start", no_argument, NULL, O_START},
                                         {"all", no_argument, NULL, O_ALL},
                                         {"limit", required_argument, NULL, O_LIMIT},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *group = NULL, *topic = NULL, *from = NULL, *limit = "100";
    int all = 0, c;
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    int first = strcmp(cmd, "dlq") == 0 ? 3 : 2;
    if (strcmp(cmd, "dlq") == 0 && argc < 3) {
        fputs(usage, stderr);
        return 2;
    }
    optind = first;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_GROUP: group = optarg; break;
        case O_TOPIC: topic = optarg; break;
        case O_FROM: from = optarg; break;
        case O_START: from = "-infinity"; break;
        case O_ALL: all = 1; break;
        case O_LIMIT: limit = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (strcmp(cmd, "replay") == 0 && (!group || !topic || !from)) {
        fprintf(stderr, "rentezyd bus replay: --group, --topic and --from-start or --from are "
                        "required\n");
        return 2;
    }
    if (strcmp(cmd, "status") != 0 && strcmp(cmd, "replay") != 0 && strcmp(cmd, "dlq") != 0) {
        fprintf(stderr, "rentezyd bus: unknown command '%s'\n%s", cmd, usage);
        return 2;
    }
    PGconn *db = connect_db();
    if (!db)
        return 1;
    int rc;
    if (strcmp(cmd, "status") == 0)
        rc = status(db);
    else if (strcmp(cmd, "replay") == 0)
        rc = replay(db, group, topic, from);
    else
        rc = dlq(db, argv[2], argc - optind, argv + optind, group, topic, all, limit);
    PQfinish(db);
    return rc;
}
