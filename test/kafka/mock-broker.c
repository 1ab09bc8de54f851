/*
 * mock-broker: a Kafka-protocol broker for tests, built on librdkafka's mock
 * cluster (rdkafka_mock.h). Prints the bootstrap address on stdout, then serves
 * until stdin closes or SIGTERM/SIGINT arrives.
 *
 *   mock-broker [-b BROKERS] [-f FETCH_MAX_VERSION] [topic[:partitions] ...]
 *
 * Topics named on the command line are created up front (default 1 partition);
 * others are auto-created by the mock on first use. -f caps the Fetch API
 * versions the broker offers (tests of clients' older response layouts).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig) {
    (void)sig;
    ssize_t r = write(sig_pipe[1], "x", 1);
    (void)r;
}

static void usage(void) {
    fprintf(stderr, "usage: mock-broker [-b BROKERS] [-f FETCH_MAX_VERSION] [topic[:partitions] ...]\n");
}

int main(int argc, char **argv) {
    int brokers = 1;
    int fetch_max = -1;
    int first = 1;
    while (first + 1 < argc && argv[first][0] == '-') {
        if (strcmp(argv[first], "-b") == 0) brokers = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "-f") == 0) fetch_max = atoi(argv[first + 1]);
        else { usage(); return 2; }
        first += 2;
    }
    if (brokers < 1) { usage(); return 2; }

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* Quiet: the mock's own client logs nothing on stdout (stdout carries the bootstrap). */
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) { fprintf(stderr, "mock-broker: rd_kafka_new: %s\n", errstr); return 1; }

    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) { fprintf(stderr, "mock-broker: could not create the mock cluster\n"); rd_kafka_destroy(rk); return 1; }

    /* Fetch is API key 1. */
    if (fetch_max >= 0) rd_kafka_mock_set_apiversion(mc, 1, 0, fetch_max);

    for (int i = first; i < argc; i++) {
        char name[256];
        int partitions = 1;
        const char *colon = strrchr(argv[i], ':');
        size_t len = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
        if (len == 0 || len >= sizeof(name)) { usage(); return 2; }
        memcpy(name, argv[i], len);
        name[len] = '\0';
        if (colon) partitions = atoi(colon + 1);
        if (partitions < 1) { usage(); return 2; }
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, partitions, 1);
        if (err) {
            fprintf(stderr, "mock-broker: topic %s: %s\n", name, rd_kafka_err2str(err));
            return 1;
        }
    }

    if (pipe(sig_pipe) != 0) { perror("pipe"); return 1; }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = sig_pipe[0], .events = POLLIN}};
    char buf[4096];
    for (;;) {
        int n = poll(fds, 2, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[1].revents) break;
        if (fds[0].revents) {
            ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
            if (r <= 0) break; /* stdin closed: the parent is gone */
        }
    }

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
