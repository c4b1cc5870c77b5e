/*
 * kafka_mock — run librdkafka's mock cluster (real Kafka protocol on
 * loopback) for the bus tests and benchmark.
 *
 *   kafka_mock BOOTSTRAP_FILE [TOPIC[:PARTITIONS] ...]
 *
 * Starts 3 brokers, creates the topics named (4 partitions unless told),
 * writes "127.0.0.1:PORT,..." to BOOTSTRAP_FILE (atomically: written to a
 * temporary name, then renamed, so a reader never sees half of it), then
 * waits.  SIGUSR1 takes every broker down, SIGUSR2 brings them back,
 * SIGTERM/SIGINT stop it.  The cluster lives in this process's memory.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define NBROKERS 3

static volatile sig_atomic_t want; /* 1 down, 2 up, 3 stop */

static void on_signal(int sig) { want = sig == SIGUSR1 ? 1 : sig == SIGUSR2 ? 2 : 3; }

int main(int argc, char **argv)
{
    char err[512];
    if (argc < 2) {
        fprintf(stderr, "usage: kafka_mock BOOTSTRAP_FILE [TOPIC[:PARTITIONS] ...]\n");
        return 2;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, NBROKERS);
    if (!mc) {
        fprintf(stderr, "kafka_mock: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        char topic[256];
        int parts = 4;
        snprintf(topic, sizeof(topic), "%s", argv[i]);
        char *colon = strchr(topic, ':');
        if (colon) {
            *colon = '\0';
            parts = atoi(colon + 1) > 0 ? atoi(colon + 1) : 4;
        }
        if (rd_kafka_mock_topic_create(mc, topic, parts, NBROKERS))
            fprintf(stderr, "kafka_mock: cannot create topic %s\n", topic);
    }
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 || fclose(f) != 0 ||
        rename(tmp, argv[1]) != 0) {
        perror("kafka_mock: writing the bootstrap file");
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    fprintf(stderr, "kafka_mock: %d brokers at %s\n", NBROKERS, rd_kafka_mock_cluster_bootstraps(mc));
    while (want != 3) {
        pause();
        if (want == 1 || want == 2) {
            for (int b = 1; b <= NBROKERS; b++)
                if (want == 1)
                    rd_kafka_mock_broker_set_down(mc, b);
                else
                    rd_kafka_mock_broker_set_up(mc, b);
            fprintf(stderr, "kafka_mock: brokers %s\n", want == 1 ? "down" : "up");
            want = 0;
        }
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
