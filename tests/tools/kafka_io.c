/*
 * kafka_io — read or write a Kafka topic behind the bus's back, for the bus
 * tests: what landed in <topic>.dlq, and input that no RentEzy relay would
 * send (data that is not JSON, a malformed event type).
 *
 *   kafka_io dump BROKERS TOPIC [SECONDS]
 *       Reads every partition from the start to its end (assigned: joins no
 *       group, commits nothing) and prints one JSON object per message:
 *       {"partition":0,"offset":3,"key":"..","value":"..","headers":{"rz-error":".."}}
 *       Exit status 0 when every partition reached its end within SECONDS
 *       (default 20), 1 otherwise.
 *   kafka_io produce BROKERS TOPIC KEY VALUE [NAME=VALUE ...]
 *       Produces one message with those headers; exit status 0 once it is
 *       acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

static char *text(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        if (n)
            memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static void print(const rd_kafka_message_t *m)
{
    cJSON *o = cJSON_CreateObject(), *h = cJSON_CreateObject();
    char *k = text(m->key, m->key ? m->key_len : 0), *v = text(m->payload, m->payload ? m->len : 0);
    cJSON_AddNumberToObject(o, "partition", m->partition);
    cJSON_AddNumberToObject(o, "offset", (double)m->offset);
    cJSON_AddStringToObject(o, "key", k ? k : "");
    cJSON_AddStringToObject(o, "value", v ? v : "");
    rd_kafka_headers_t *hdrs;
    const char *name;
    const void *val;
    size_t len;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &len) == 0; i++) {
            char *s = text(val, val ? len : 0);
            cJSON_AddStringToObject(h, name, s ? s : "");
            free(s);
        }
    cJSON_AddItemToObject(o, "headers", h);
    char *out = cJSON_PrintUnformatted(o);
    if (out)
        puts(out);
    free(out);
    free(k);
    free(v);
    cJSON_Delete(o);
}

static int produce(int argc, char **argv)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[0], err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "log_level", "2", err, sizeof(err))) {
        fprintf(stderr, "kafka_io: %s\n", err);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "kafka_io: %s\n", err);
        return 2;
    }
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    for (int i = 4; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (eq)
            rd_kafka_header_add(h, argv[i], eq - argv[i], eq + 1, -1);
    }
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(argv[1]), RD_KAFKA_V_KEY(argv[2], strlen(argv[2])),
        RD_KAFKA_V_VALUE(argv[3], strlen(argv[3])), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (e) {
        rd_kafka_headers_destroy(h);
        fprintf(stderr, "kafka_io: %s\n", rd_kafka_err2str(e));
    } else if ((e = rd_kafka_flush(rk, 10000)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "kafka_io: not acknowledged: %s\n", rd_kafka_err2str(e));
    }
    rd_kafka_destroy(rk);
    return e ? 1 : 0;
}

static int dump(int argc, char **argv)
{
    char err[512];
    time_t end = time(NULL) + (argc > 2 ? atoi(argv[2]) : 20);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[0], err, sizeof(err)) ||
        /* a consumer needs a group to poll; assign() never joins it, and
         * nothing is committed */
        rd_kafka_conf_set(conf, "group.id", "kafka_io", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "log_level", "2", err, sizeof(err))) {
        fprintf(stderr, "kafka_io: %s\n", err);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "kafka_io: %s\n", err);
        return 2;
    }
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, argv[1], NULL);
    const struct rd_kafka_metadata *md = NULL;
    int rc = 1;
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "kafka_io: no metadata for %s\n", argv[1]);
        goto out;
    }
    int parts = md->topics[0].partition_cnt, eof = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
    for (int i = 0; i < parts; i++)
        rd_kafka_topic_partition_list_add(l, argv[1], md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    while (eof < parts && time(NULL) < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eof++;
        else if (m->err)
            fprintf(stderr, "kafka_io: %s\n", rd_kafka_message_errstr(m));
        else
            print(m);
        rd_kafka_message_destroy(m);
    }
    rc = eof < parts;
    if (rc)
        fprintf(stderr, "kafka_io: %d of %d partitions read to their end\n", eof, parts);
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "dump") == 0)
        return dump(argc - 2, argv + 2);
    if (argc >= 6 && strcmp(argv[1], "produce") == 0)
        return produce(argc - 2, argv + 2);
    fprintf(stderr, "usage: kafka_io dump BROKERS TOPIC [SECONDS]\n"
                    "       kafka_io produce BROKERS TOPIC KEY VALUE [NAME=VALUE ...]\n");
    return 2;
}
