/* The load generator of the scale benchmark: HEADs of blob URLs over keep-alive connections,
 * each request naming another entry of a filled store (bench/scale_keys.h), one thread, so
 * that it takes one core and leaves the other to the nginx worker. ab cannot do this: it
 * sends one URL only.
 *
 *   scale_load PORT N SAMPLE SECONDS [CONCURRENCY] [WARMUP_SECONDS]
 *   scale_load --url I       prints the path of entry I (for a check with curl)
 *
 * SAMPLE > 0: the requests rotate through SAMPLE distinct entries drawn at random from the N
 * (a working set); SAMPLE = 0: each request names a random entry of all N. Prints
 * "requests R ok O other X seconds S rps Y"; exits 1 when any answer was not a 200. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "scale_keys.h"

#define MAX_CONNECTIONS 256

struct connection {
    int fd;
    size_t have;     /* bytes of the current answer read so far */
    char in[4096];
};

static uint64_t n_entries, sample_size, *sample, next_request;
static uint64_t ok_count, other_count;
static int counting;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_entry(void) {
    uint64_t j = next_request++;
    if (sample_size != 0) return sample[j % sample_size];
    return scale_mix(j ^ 0xfeedull) % n_entries;
}

static int send_request(struct connection *c) {
    char repository[32], digest[72], request[256];
    uint64_t i = next_entry();
    int len;
    scale_repository(i, repository);
    scale_digest(i, digest);
    len = snprintf(request, sizeof request,
                   "HEAD /v2/%s/blobs/%s HTTP/1.1\r\nHost: edge\r\n\r\n", repository, digest);
    /* Small enough to go out whole on a connection with nothing else queued. */
    return send(c->fd, request, (size_t)len, MSG_NOSIGNAL) == len ? 0 : -1;
}

/* A HEAD answer ends with its header block, whatever its Content-Length says. */
static int on_readable(struct connection *c) {
    ssize_t got = recv(c->fd, c->in + c->have, sizeof c->in - 1 - c->have, 0);
    if (got <= 0) return -1;
    c->have += (size_t)got;
    c->in[c->have] = '\0';
    if (strstr(c->in, "\r\n\r\n") == NULL) return c->have < sizeof c->in - 1 ? 0 : -1;
    if (counting) {
        if (strncmp(c->in, "HTTP/1.1 200 ", 13) == 0) ++ok_count;
        else ++other_count;
    }
    c->have = 0;
    return send_request(c);
}

int main(int argc, char **argv) {
    static struct connection conns[MAX_CONNECTIONS];
    struct sockaddr_in addr;
    struct epoll_event ev, events[MAX_CONNECTIONS];
    double seconds, warmup, start, end;
    int concurrency, ep, k;
    uint64_t j;

    if (argc == 3 && strcmp(argv[1], "--url") == 0) {
        char repository[32], digest[72];
        j = strtoull(argv[2], NULL, 10);
        scale_repository(j, repository);
        scale_digest(j, digest);
        printf("/v2/%s/blobs/%s\n", repository, digest);
        return 0;
    }
    if (argc < 5) {
        fprintf(stderr, "usage: %s PORT N SAMPLE SECONDS [CONCURRENCY] [WARMUP_SECONDS]\n", argv[0]);
        return 2;
    }
    n_entries = strtoull(argv[2], NULL, 10);
    sample_size = strtoull(argv[3], NULL, 10);
    seconds = atof(argv[4]);
    concurrency = argc > 5 ? atoi(argv[5]) : 32;
    warmup = argc > 6 ? atof(argv[6]) : 2;
    if (n_entries == 0 || sample_size > n_entries || concurrency < 1 ||
        concurrency > MAX_CONNECTIONS || seconds <= 0) {
        fprintf(stderr, "scale_load: bad arguments\n");
        return 2;
    }
    if (sample_size != 0) {
        /* SAMPLE distinct entries: the first SAMPLE places of a partial Fisher-Yates shuffle. */
        uint64_t *all = malloc(n_entries * sizeof *all);
        if (all == NULL) return 1;
        for (j = 0; j < n_entries; ++j) all[j] = j;
        for (j = 0; j < sample_size; ++j) {
            uint64_t pick = j + scale_mix(j ^ 0xabcdull) % (n_entries - j), t = all[j];
            all[j] = all[pick];
            all[pick] = t;
        }
        sample = all;
    }

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ep = epoll_create1(0);
    for (k = 0; k < concurrency; ++k) {
        int one = 1;
        conns[k].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (conns[k].fd < 0 || connect(conns[k].fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
            perror("scale_load: connect");
            return 1;
        }
        setsockopt(conns[k].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ev.events = EPOLLIN;
        ev.data.ptr = &conns[k];
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[k].fd, &ev);
        if (send_request(&conns[k]) != 0) {
            perror("scale_load: send");
            return 1;
        }
    }

    start = now_seconds();
    end = start + warmup + seconds;
    for (;;) {
        double t = now_seconds();
        if (!counting && t >= start + warmup) {
            counting = 1;
            start = t;
        }
        if (t >= end) break;
        int ready = epoll_wait(ep, events, MAX_CONNECTIONS, 100);
        if (ready < 0 && errno != EINTR) {
            perror("scale_load: epoll_wait");
            return 1;
        }
        for (k = 0; k < ready; ++k) {
            if (on_readable(events[k].data.ptr) != 0) {
                fprintf(stderr, "scale_load: a connection failed or closed\n");
                return 1;
            }
        }
    }
    seconds = now_seconds() - start;
    printf("requests %llu ok %llu other %llu seconds %.2f rps %.0f\n",
           (unsigned long long)(ok_count + other_count), (unsigned long long)ok_count,
           (unsigned long long)other_count, seconds, (double)(ok_count + other_count) / seconds);
    return other_count == 0 ? 0 : 1;
}
