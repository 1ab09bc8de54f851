/*
 * produce: librdkafka's own producer, for tests that need record batches the way
 * a real client writes them (compressed with snappy, lz4 or zstd, which the test
 * suite's KafkaJS producer cannot write). Each line of stdin is one message value.
 *
 *   produce BOOTSTRAP TOPIC CODEC < lines      (CODEC: none, gzip, snappy, lz4, zstd)
 *
 * Messages are batched (linger.ms) so that one compressed batch holds many
 * records. Prints the number of messages delivered; exits 1 if any failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>

static long delivered = 0, failed = 0;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk; (void)opaque;
    if (m->err) { failed++; fprintf(stderr, "produce: %s\n", rd_kafka_err2str(m->err)); }
    else delivered++;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: produce BOOTSTRAP TOPIC CODEC < lines\n"); return 2; }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "compression.codec", argv[3], errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "linger.ms", "50", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))) {
        fprintf(stderr, "produce: %s\n", errstr);
        return 2;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) { fprintf(stderr, "produce: %s\n", errstr); return 1; }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n') n--;
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_VALUE(line, (size_t)n),
                                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                if (err) { fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err)); return 1; }
                break;
            }
            rd_kafka_poll(rk, 100);
        }
        rd_kafka_poll(rk, 0);
    }
    free(line);
    rd_kafka_flush(rk, 30000);
    rd_kafka_destroy(rk);
    printf("%ld\n", delivered);
    return failed || delivered == 0 ? 1 : 0;
}
