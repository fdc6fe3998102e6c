/* loadgen: a neutral WebSocket fan-out load tool for pub/sub brokers (herald, uWebSockets, ...).
 *
 * One thread, one epoll loop, plain TCP. N subscribers connect to --url; one publisher
 * (herald's Unix-socket line protocol, or a WebSocket client) publishes M messages of S bytes
 * with at most W messages in flight, where "in flight" means published and not yet received
 * by every subscriber. Reports deliveries per second, latency percentiles (four sampled
 * subscribers, every message), messages lost, and the broker's CPU time and RSS.
 *
 *   cc -O2 -o loadgen loadgen.c -lz
 *   loadgen --url ws://127.0.0.1:8080/topics/bench.ticks --publish unix:./herald.sock \
 *           --subscribers 1000 --messages 20000 --size 128 --json
 *
 * See README.md next to this file.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define READ_BUF (64 * 1024)
#define BATCH 250
#define SAMPLED 4
#define STAMP_DIGITS 20
#define TOKEN_PUB ((uint64_t)-2)
#define TOKEN_TIMER ((uint64_t)-3)
#define FILLER_POOL 65536

enum { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_DEAD };
enum { ROLE_SUB, ROLE_PUB };

/* Per-connection state: small, so that 10k+ connections stay cheap. Frame headers split
 * across reads are carried in hdr[]; a payload is skipped by counting `left` down. */
typedef struct conn {
    int fd;
    uint8_t state, role, sampled, deflate, server_no_ctx;
    uint8_t hdr[14], hdr_have, in_payload;
    uint8_t opcode, fin, msg_compressed, ctrl_len;
    uint64_t left;            /* payload bytes left in the current frame */
    uint32_t received;        /* complete data messages so far: the next one is message `received` */
    char *hs;                 /* handshake response being read (freed once open) */
    uint16_t hs_len;
    uint8_t ctrl[125];        /* control frame payload (ping → pong) */
    struct sample *s;         /* only on sampled connections */
} conn;

typedef struct sample {
    z_stream z;
    int z_ready;
    char stamp[STAMP_DIGITS];
    int stamp_have;
} sample;

/* ---- options ---- */
static const char *opt_url, *opt_publish, *opt_topic = "bench.ticks";
static long opt_subs = 1000, opt_messages = 10000, opt_size = 128, opt_window = 32, opt_idle = 0;
static double opt_rate = 0, opt_timeout = 60;
static int opt_compression = 0, opt_json = 0;
static long opt_broker_pid = 0;

/* ---- state ---- */
static int ep;
static conn *subs;
static conn pub;
static int pub_unix;
static struct sockaddr_in sub_addr, pub_addr;
static char sub_host[300], sub_path[1024], pub_host[300], pub_path[1024];
static unsigned char rbuf[READ_BUF];
static unsigned char zout[READ_BUF];

static uint32_t *ring;           /* ring[k % W]: subscribers still to receive message k */
static long published, completed;
static int64_t t_first_publish, t_last_completion, t_sched0;
static uint64_t received_total, unexpected, errors, compressed_total, sub_bytes;
static int fatal;                /* a subscriber died: measurement can't complete */
static char first_error[256];
static int64_t *lat;             /* latency samples, ns */
static size_t lat_n, lat_cap;
static long acks, pub_errs;
static int pub_line_start = 1, pub_err_capture;
static char pub_err_text[200];
static size_t pub_err_len;
static unsigned char *outbuf;    /* publisher's pending bytes */
static size_t out_len, out_off, out_cap;
static int pub_out_armed;
static int timer_fd = -1;
static int64_t lag_max;          /* with --rate: how late a publish went out behind its schedule */
static int deflate_count;
static char extensions_seen[256];
static char *filler;
static long open_count, failed_count;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return rng_state = x;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void note_error(const char *fmt, ...) {
    errors++;
    if (first_error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(first_error, sizeof first_error, fmt, ap);
    va_end(ap);
}

/* ---- broker figures from /proc ---- */
static FILE *broker_proc_file(const char *name) {
    if (!opt_broker_pid) return NULL;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/%s", opt_broker_pid, name);
    return fopen(path, "r");
}

static long broker_rss_kib(void) {
    char line[256];
    FILE *f = broker_proc_file("status");
    if (!f) return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) { kib = strtol(line + 6, NULL, 10); break; }
    fclose(f);
    return kib;
}

static int64_t broker_cpu_ns(void) {
    char buf[2048];
    FILE *f = broker_proc_file("stat");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (int64_t)(ut + st) * (1000000000LL / sysconf(_SC_CLK_TCK));
}

static int64_t self_cpu_ns(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
           (int64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* ---- URLs ---- */
static void parse_ws_url(const char *url, struct sockaddr_in *addr, char *host, char *path) {
    if (strncmp(url, "ws://", 5)) die("only ws:// URLs are supported: %s", url);
    const char *h = url + 5, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (hl == 0 || hl >= 300) die("bad URL %s", url);
    memcpy(host, h, hl);
    host[hl] = 0;
    snprintf(path, 1024, "%s", slash ? slash : "/");
    char name[300], port[16] = "80";
    snprintf(name, sizeof name, "%s", host);
    char *colon = strrchr(name, ':');
    if (colon) { snprintf(port, sizeof port, "%s", colon + 1); *colon = 0; }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(name, port, &hints, &res);
    if (rc) die("cannot resolve %s: %s", name, gai_strerror(rc));
    memcpy(addr, res->ai_addr, sizeof *addr);
    freeaddrinfo(res);
}

/* ---- writes ---- */
static int write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w > 0) { p += w; len -= (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            if (poll(&pfd, 1, 2000) <= 0) return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

/* A masked client frame (control frames from subscribers; data frames from the publisher). */
static size_t frame_header(unsigned char *h, int opcode, size_t len, const unsigned char mask[4]) {
    size_t n = 0;
    h[n++] = (unsigned char)(0x80 | opcode);
    if (len < 126) h[n++] = (unsigned char)(0x80 | len);
    else if (len < 65536) { h[n++] = 0x80 | 126; h[n++] = (unsigned char)(len >> 8); h[n++] = (unsigned char)len; }
    else { h[n++] = 0x80 | 127; for (int i = 7; i >= 0; i--) h[n++] = (unsigned char)(len >> (8 * i)); }
    memcpy(h + n, mask, 4);
    return n + 4;
}

static void send_control(conn *c, int opcode, const uint8_t *payload, size_t len) {
    unsigned char f[14 + 125];
    uint32_t m = (uint32_t)rnd();
    unsigned char mask[4];
    memcpy(mask, &m, 4);
    size_t h = frame_header(f, opcode, len, mask);
    for (size_t i = 0; i < len; i++) f[h + i] = payload[i] ^ mask[i & 3];
    if (write_all(c->fd, f, h + len) < 0) note_error("cannot write a control frame: %s", strerror(errno));
}

/* ---- connections ---- */
static void kill_conn(conn *c, const char *why) {
    if (c->state == C_DEAD) return;
    int was_open = c->state == C_OPEN;
    note_error("%s %s", c->role == ROLE_PUB ? "publisher:" : "subscriber:", why);
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = C_DEAD;
    free(c->hs);
    c->hs = NULL;
    if (!was_open) failed_count++;
    fatal = 1;
}

static void start_connect(conn *c, uint64_t token, const struct sockaddr_in *addr) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = C_CONNECTING;
    if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS)
        die("connect: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u64 = token};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
}

static void send_upgrade(conn *c, uint64_t token, const char *host, const char *path, int offer_deflate) {
    unsigned char key[16];
    char key64[25], req[1600];
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 16; i++) key[i] = (unsigned char)rnd();
    int j = 0;
    for (int i = 0; i < 15; i += 3) {
        uint32_t v = (uint32_t)key[i] << 16 | (uint32_t)key[i + 1] << 8 | key[i + 2];
        key64[j++] = b64[v >> 18]; key64[j++] = b64[(v >> 12) & 63]; key64[j++] = b64[(v >> 6) & 63]; key64[j++] = b64[v & 63];
    }
    key64[j++] = b64[key[15] >> 2]; key64[j++] = b64[(key[15] & 3) << 4]; key64[j++] = '='; key64[j++] = '='; key64[j] = 0;
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                     path, host, key64,
                     offer_deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "");
    if (write_all(c->fd, req, (size_t)n) < 0) { kill_conn(c, "cannot send the upgrade request"); return; }
    c->state = C_HANDSHAKE;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = token};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Reads the agreed permessage-deflate parameters from the 101 response. */
static void parse_extensions(conn *c, char *head) {
    for (char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, "Sec-WebSocket-Extensions:", 25)) continue;
        char *v = line + 25, *end = strstr(v, "\r\n");
        size_t len = end ? (size_t)(end - v) : strlen(v);
        char val[256];
        while (len && (*v == ' ' || *v == '\t')) { v++; len--; }
        if (len >= sizeof val) len = sizeof val - 1;
        memcpy(val, v, len);
        val[len] = 0;
        if (!extensions_seen[0]) snprintf(extensions_seen, sizeof extensions_seen, "%s", val);
        for (char *p = val; *p; p++) *p = (char)tolower((unsigned char)*p);
        if (strstr(val, "permessage-deflate")) {
            c->deflate = 1;
            c->server_no_ctx = strstr(val, "server_no_context_takeover") != NULL;
            if (c->role == ROLE_SUB) deflate_count++;
        }
    }
}

static void handle_data(conn *c, unsigned char *p, size_t n, int64_t t);

static void handle_handshake(conn *c, unsigned char *p, size_t n, int64_t t) {
    if (!c->hs) c->hs = malloc(4096);
    if (c->hs_len + n > 4095) { kill_conn(c, "handshake response too long"); return; }
    memcpy(c->hs + c->hs_len, p, n);
    c->hs_len += (uint16_t)n;
    c->hs[c->hs_len] = 0;
    char *end = strstr(c->hs, "\r\n\r\n");
    if (!end) return;
    size_t head_len = (size_t)(end - c->hs) + 4;
    if (strncmp(c->hs, "HTTP/1.1 101", 12)) {
        char *eol = strstr(c->hs, "\r\n");
        if (eol) *eol = 0;
        char why[200];
        snprintf(why, sizeof why, "upgrade refused: %.150s", c->hs);
        kill_conn(c, why);
        return;
    }
    end[2] = 0;
    parse_extensions(c, c->hs);
    if (c->deflate && c->s && !c->s->z_ready) {
        if (inflateInit2(&c->s->z, -15) != Z_OK) die("inflateInit2 failed");
        c->s->z_ready = 1;
    }
    size_t rest = c->hs_len - head_len;
    unsigned char carry[4096];
    memcpy(carry, c->hs + head_len, rest);
    free(c->hs);
    c->hs = NULL;
    c->hs_len = 0;
    c->state = C_OPEN;
    if (c->role == ROLE_SUB) open_count++;
    if (rest) handle_data(c, carry, rest, t);
}

/* ---- receiving ---- */
static void message_complete(conn *c, int64_t t) {
    if (c->role == ROLE_PUB) return; /* echoes to the publisher are read and dropped */
    uint32_t k = c->received++;
    if ((long)k >= published) { unexpected++; note_error("subscriber got a message that was never published"); return; }
    received_total++;
    if (c->msg_compressed) compressed_total++;
    if (c->s) {
        if (c->s->stamp_have < STAMP_DIGITS) note_error("message shorter than its timestamp");
        else {
            int64_t stamp = 0;
            for (int i = 0; i < STAMP_DIGITS; i++) {
                char d = c->s->stamp[i];
                if (d < '0' || d > '9') { note_error("payload does not start with a timestamp"); stamp = -1; break; }
                stamp = stamp * 10 + (d - '0');
            }
            if (stamp >= 0 && lat_n < lat_cap) lat[lat_n++] = t - stamp;
        }
        c->s->stamp_have = 0;
    }
    if (--ring[k % opt_window] == 0) {
        completed++;
        t_last_completion = t;
    }
}

static void take_stamp(sample *s, const unsigned char *p, size_t n) {
    if (s->stamp_have >= STAMP_DIGITS) return;
    size_t take = STAMP_DIGITS - (size_t)s->stamp_have;
    if (take > n) take = n;
    memcpy(s->stamp + s->stamp_have, p, take);
    s->stamp_have += (int)take;
}

static void inflate_bytes(conn *c, const unsigned char *p, size_t n) {
    z_stream *z = &c->s->z;
    z->next_in = (unsigned char *)p;
    z->avail_in = (uInt)n;
    for (;;) {
        z->next_out = zout;
        z->avail_out = sizeof zout;
        int rc = inflate(z, Z_SYNC_FLUSH);
        take_stamp(c->s, zout, sizeof zout - z->avail_out);
        if (rc == Z_STREAM_END) { inflateReset(z); if (!z->avail_in) break; continue; }
        if (rc == Z_BUF_ERROR) break; /* needs more input */
        if (rc != Z_OK) { kill_conn(c, "inflate failed"); return; }
        if (!z->avail_in && z->avail_out) break;
    }
}

static void payload_bytes(conn *c, const unsigned char *p, size_t n) {
    if (c->opcode >= 8) { memcpy(c->ctrl + c->ctrl_len, p, n); c->ctrl_len += (uint8_t)n; return; }
    if (!c->s) return; /* not sampled: skip */
    if (c->msg_compressed) inflate_bytes(c, p, n);
    else take_stamp(c->s, p, n);
}

static void frame_end(conn *c, int64_t t) {
    if (c->opcode >= 8) {
        if (c->opcode == 9) send_control(c, 10, c->ctrl, c->ctrl_len);
        else if (c->opcode == 8) {
            int code = c->ctrl_len >= 2 ? c->ctrl[0] << 8 | c->ctrl[1] : 0;
            char why[200];
            snprintf(why, sizeof why, "close frame from the server, code %d %.*s", code, c->ctrl_len > 2 ? c->ctrl_len - 2 : 0,
                     (const char *)c->ctrl + 2);
            kill_conn(c, why);
        }
        return;
    }
    if (!c->fin) return;
    if (c->msg_compressed && c->s) {
        static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
        inflate_bytes(c, tail, 4);
        if (c->state == C_DEAD) return;
        if (c->server_no_ctx) inflateReset(&c->s->z);
    }
    message_complete(c, t);
}

/* Parses frames out of n bytes: header bytes carried over in c->hdr, payload counted down. */
static void handle_data(conn *c, unsigned char *p, size_t n, int64_t t) {
    unsigned char *end = p + n;
    while (p < end && c->state == C_OPEN) {
        if (c->in_payload) {
            size_t take = (size_t)(end - p) < c->left ? (size_t)(end - p) : (size_t)c->left;
            payload_bytes(c, p, take);
            p += take;
            c->left -= take;
            if (!c->left) { c->in_payload = 0; frame_end(c, t); }
            continue;
        }
        /* header: at least 2 bytes, then the extended length (and a mask, which servers must not set) */
        const unsigned char *h;
        size_t need = 2;
        if (c->hdr_have == 0 && end - p >= 14) h = p;
        else {
            while (c->hdr_have < 2 && p < end) c->hdr[c->hdr_have++] = *p++;
            if (c->hdr_have < 2) return;
            h = c->hdr;
        }
        int len7 = h[1] & 0x7f;
        need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((h[1] & 0x80) ? 4 : 0);
        if (h == c->hdr) {
            while (c->hdr_have < need && p < end) c->hdr[c->hdr_have++] = *p++;
            if (c->hdr_have < need) return;
        } else p += need;
        uint64_t len = (uint64_t)len7;
        if (len7 == 126) len = (uint64_t)h[2] << 8 | h[3];
        else if (len7 == 127) { len = 0; for (int i = 0; i < 8; i++) len = len << 8 | h[2 + i]; }
        int opcode = h[0] & 0x0f, fin = h[0] >> 7, rsv1 = (h[0] >> 6) & 1;
        c->hdr_have = 0;
        if (h[1] & 0x80) { kill_conn(c, "masked frame from the server"); return; }
        if (opcode >= 8) {
            if (len > 125 || !fin) { kill_conn(c, "bad control frame"); return; }
            c->ctrl_len = 0;
        } else if (opcode == 1 || opcode == 2) {
            c->msg_compressed = (uint8_t)(rsv1 && c->deflate);
            if (rsv1 && !c->deflate) { kill_conn(c, "RSV1 set without permessage-deflate"); return; }
            if (c->s) c->s->stamp_have = 0;
        } else if (opcode != 0) { kill_conn(c, "unknown opcode"); return; }
        c->opcode = (uint8_t)opcode;
        if (opcode < 8) c->fin = (uint8_t)fin;
        c->left = len;
        if (len) c->in_payload = 1;
        else frame_end(c, t);
    }
}

static void on_readable(conn *c) {
    ssize_t r = read(c->fd, rbuf, sizeof rbuf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) { kill_conn(c, r == 0 ? "connection closed by the broker" : strerror(errno)); return; }
    int64_t t = now_ns();
    if (c->role == ROLE_SUB && c->state == C_OPEN) sub_bytes += (uint64_t)r;
    if (c->state == C_HANDSHAKE) handle_handshake(c, rbuf, (size_t)r, t);
    else if (c->state == C_OPEN) handle_data(c, rbuf, (size_t)r, t);
}

/* ---- the publisher ---- */
static void pub_flush(void) {
    while (out_off < out_len) {
        ssize_t w = write(pub.fd, outbuf + out_off, out_len - out_off);
        if (w > 0) { out_off += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) break;
        kill_conn(&pub, "cannot write");
        return;
    }
    if (out_off == out_len) out_off = out_len = 0;
    int want = out_len > 0;
    if (want != pub_out_armed) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u64 = TOKEN_PUB};
        epoll_ctl(ep, EPOLL_CTL_MOD, pub.fd, &ev);
        pub_out_armed = want;
    }
}

static unsigned char *out_reserve(size_t n) {
    if (out_off && out_len + n > out_cap) {
        memmove(outbuf, outbuf + out_off, out_len - out_off);
        out_len -= out_off;
        out_off = 0;
    }
    if (out_len + n > out_cap) {
        out_cap = (out_len + n) * 2;
        outbuf = realloc(outbuf, out_cap);
        if (!outbuf) die("out of memory");
    }
    return outbuf + out_len;
}

static void publish_one(int64_t stamp) {
    size_t size = (size_t)opt_size;
    char digits[STAMP_DIGITS + 1];
    snprintf(digits, sizeof digits, "%020lld", (long long)stamp);
    const char *fill = filler + (size_t)((published * (long)size) % FILLER_POOL);
    if (pub_unix) {
        char line[400];
        int hl = snprintf(line, sizeof line, "PUB %s %zu\r\n", opt_topic, size);
        unsigned char *o = out_reserve((size_t)hl + size + 2);
        memcpy(o, line, (size_t)hl);
        memcpy(o + hl, digits, STAMP_DIGITS);
        memcpy(o + hl + STAMP_DIGITS, fill, size - STAMP_DIGITS);
        memcpy(o + hl + size, "\r\n", 2);
        out_len += (size_t)hl + size + 2;
    } else {
        uint32_t m = (uint32_t)rnd();
        unsigned char mask[4];
        memcpy(mask, &m, 4);
        unsigned char *o = out_reserve(14 + size);
        size_t h = frame_header(o, 1, size, mask);
        unsigned char *q = o + h;
        for (size_t i = 0; i < STAMP_DIGITS; i++) q[i] = (unsigned char)digits[i] ^ mask[i & 3];
        for (size_t i = STAMP_DIGITS; i < size; i++) q[i] = (unsigned char)fill[i - STAMP_DIGITS] ^ mask[i & 3];
        out_len += h + size;
    }
    ring[published % opt_window] = (uint32_t)opt_subs;
    published++;
}

static int64_t scheduled(long k) { return t_sched0 + (int64_t)((double)k * 1e9 / opt_rate); }

static void arm_timer(int64_t at) {
    struct itimerspec its = {0};
    its.it_value.tv_sec = at / 1000000000LL;
    its.it_value.tv_nsec = at % 1000000000LL;
    timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Publishes while the window (and the schedule) allows. With --rate the payload carries the
 * scheduled time, so a publish held back by the window shows up as latency. */
static void try_publish(void) {
    if (pub.state != C_OPEN) return;
    int any = 0;
    int64_t t = now_ns();
    while (published < opt_messages && published - completed < opt_window) {
        int64_t stamp = t;
        if (opt_rate > 0) {
            int64_t due = scheduled(published);
            if (due > t) { arm_timer(due); break; }
            if (t - due > lag_max) lag_max = t - due;
            stamp = due;
        }
        if (!t_first_publish) t_first_publish = t;
        publish_one(stamp);
        any = 1;
    }
    if (any) pub_flush();
}

static void pub_read(void) {
    if (pub.state == C_CONNECTING || pub.state == C_DEAD) return;
    if (!pub_unix) { on_readable(&pub); return; }
    ssize_t r = read(pub.fd, rbuf, sizeof rbuf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) { kill_conn(&pub, r == 0 ? "Unix socket closed by the broker" : strerror(errno)); return; }
    for (ssize_t i = 0; i < r; i++) {
        unsigned char ch = rbuf[i];
        if (pub_line_start) {
            if (ch == '+') acks++;
            else if (ch == '-') { pub_errs++; pub_err_capture = pub_errs == 1; }
        }
        if (pub_err_capture && ch != '\r' && ch != '\n' && pub_err_len < sizeof pub_err_text - 1) pub_err_text[pub_err_len++] = (char)ch;
        pub_line_start = ch == '\n';
        if (ch == '\n') pub_err_capture = 0;
    }
}

static void connect_publisher(void) {
    if (pub_unix) {
        const char *path = opt_publish + 5;
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof a.sun_path) die("socket path too long");
        strcpy(a.sun_path, path);
        pub.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(pub.fd, (struct sockaddr *)&a, sizeof a) < 0) die("cannot connect to %s: %s", path, strerror(errno));
        if (!opt_broker_pid) { /* the broker's process, from the socket */
            struct ucred cred;
            socklen_t cl = sizeof cred;
            if (!getsockopt(pub.fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl)) opt_broker_pid = cred.pid;
        }
        fcntl(pub.fd, F_SETFL, fcntl(pub.fd, F_GETFL) | O_NONBLOCK);
        pub.state = C_OPEN;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TOKEN_PUB};
        epoll_ctl(ep, EPOLL_CTL_ADD, pub.fd, &ev);
    } else {
        start_connect(&pub, TOKEN_PUB, &pub_addr);
    }
}

/* ---- the loop ---- */
static void dispatch(uint64_t token, uint32_t events) {
    if (token == TOKEN_TIMER) {
        uint64_t x;
        if (read(timer_fd, &x, sizeof x) < 0) { /* spurious */ }
        return;
    }
    conn *c = token == TOKEN_PUB ? &pub : &subs[token];
    if (c->state == C_DEAD) return;
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) { kill_conn(c, strerror(err)); return; }
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        if (c->role == ROLE_PUB) send_upgrade(c, token, pub_host, pub_path, 0);
        else send_upgrade(c, token, sub_host, sub_path, opt_compression);
        return;
    }
    if (c->role == ROLE_PUB) {
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) pub_read();
        if ((events & EPOLLOUT) && pub.state == C_OPEN) pub_flush();
        return;
    }
    on_readable(c);
}

static void poll_once(int timeout_ms) {
    static struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, timeout_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) dispatch(evs[i].data.u64, evs[i].events);
}

static void run_for(int64_t ns) {
    int64_t until = now_ns() + ns;
    for (int64_t t; (t = now_ns()) < until;) poll_once((int)((until - t) / 1000000) + 1);
}

static void connect_subscribers(void) {
    int64_t deadline = now_ns() + (int64_t)(opt_timeout * 1e9);
    for (long i = 0; i < opt_subs; i += BATCH) {
        long last = i + BATCH < opt_subs ? i + BATCH : opt_subs;
        for (long j = i; j < last; j++) start_connect(&subs[j], (uint64_t)j, &sub_addr);
        while (open_count + failed_count < last) {
            if (failed_count) die("subscriber connection failed: %s", first_error);
            if (now_ns() > deadline) die("timed out connecting subscribers (%ld of %ld open)", open_count, opt_subs);
            poll_once(100);
        }
    }
    if (failed_count) die("subscriber connection failed: %s", first_error);
}

static const char *json_str(const char *in) {
    static char bufs[2][600];
    static int which;
    char *out = bufs[which ^= 1];
    size_t j = 0;
    for (; *in && j < sizeof bufs[0] - 8; in++) {
        unsigned char ch = (unsigned char)*in;
        if (ch == '"' || ch == '\\') { out[j++] = '\\'; out[j++] = (char)ch; }
        else if (ch < 0x20 || ch >= 0x7f) j += (size_t)snprintf(out + j, 8, "\\u%04x", ch);
        else out[j++] = (char)ch;
    }
    out[j] = 0;
    return out;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(double p) {
    if (!lat_n) return -1;
    double exact = p * (double)lat_n;
    size_t rank = (size_t)exact;
    if ((double)rank < exact) rank++; /* nearest rank: ceil(p n) */
    if (rank < 1) rank = 1;
    return (double)lat[rank - 1] / 1e6;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen --url ws://HOST:PORT/PATH --publish unix:/path.sock|ws://HOST:PORT/PATH [options]\n"
            "  --subscribers N   subscriber connections (1000)\n"
            "  --messages M      messages to publish (10000)\n"
            "  --size BYTES      payload bytes, at least 24 (128)\n"
            "  --window W        messages published but not yet received by every subscriber (32)\n"
            "  --rate R          messages per second; 0: as fast as the window allows (0)\n"
            "  --compression     offer permessage-deflate; client_max_window_bits\n"
            "  --topic T         topic for unix: publishing (bench.ticks)\n"
            "  --idle N          only open N subscribers, wait 2 s, report broker RSS per connection\n"
            "  --broker-pid PID  broker process for CPU and RSS (found via the Unix socket when omitted)\n"
            "  --timeout S       give up after S seconds (60)\n"
            "  --json            one JSON object on stdout\n");
    exit(2);
}

int main(int argc, char **argv) {
    static struct option longopts[] = {
        {"url", required_argument, 0, 'u'},         {"subscribers", required_argument, 0, 'n'},
        {"messages", required_argument, 0, 'm'},    {"size", required_argument, 0, 's'},
        {"window", required_argument, 0, 'w'},      {"rate", required_argument, 0, 'r'},
        {"compression", no_argument, 0, 'c'},       {"idle", required_argument, 0, 'i'},
        {"broker-pid", required_argument, 0, 'p'},  {"timeout", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'},              {"publish", required_argument, 0, 'P'},
        {"topic", required_argument, 0, 'T'},       {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (o) {
        case 'u': opt_url = optarg; break;
        case 'n': opt_subs = atol(optarg); break;
        case 'm': opt_messages = atol(optarg); break;
        case 's': opt_size = atol(optarg); break;
        case 'w': opt_window = atol(optarg); break;
        case 'r': opt_rate = atof(optarg); break;
        case 'c': opt_compression = 1; break;
        case 'i': opt_idle = atol(optarg); break;
        case 'p': opt_broker_pid = atol(optarg); break;
        case 't': opt_timeout = atof(optarg); break;
        case 'j': opt_json = 1; break;
        case 'P': opt_publish = optarg; break;
        case 'T': opt_topic = optarg; break;
        default: usage();
        }
    }
    if (!opt_url) usage();
    if (opt_idle > 0) opt_subs = opt_idle;
    else if (!opt_publish) usage();
    if (opt_subs < 1 || opt_messages < 1 || opt_window < 1) die("--subscribers, --messages and --window must be positive");
    if (opt_size < 24) die("--size must be at least 24");
    if (opt_messages > UINT32_MAX) die("--messages too large");

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)opt_subs + 16 > rl.rlim_cur) die("%ld connections need more file descriptors than the hard limit %lu", opt_subs, (unsigned long)rl.rlim_cur);

    rng_state ^= (uint64_t)now_ns() * 0x2545F4914F6CDD1Dull;
    parse_ws_url(opt_url, &sub_addr, sub_host, sub_path);
    if (opt_publish) {
        if (!strncmp(opt_publish, "unix:", 5)) pub_unix = 1;
        else parse_ws_url(opt_publish, &pub_addr, pub_host, pub_path);
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    subs = calloc((size_t)opt_subs, sizeof *subs);
    pub.role = ROLE_PUB;
    pub.fd = -1;

    /* The broker's pid from the Unix socket, before anything else is measured. */
    if (opt_publish && pub_unix) connect_publisher();

    if (opt_idle > 0) {
        long rss0 = broker_rss_kib();
        connect_subscribers();
        run_for(2000000000LL);
        long rss1 = broker_rss_kib();
        double per = rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) / (double)opt_idle : -1;
        if (opt_json)
            printf("{\"idle_connections\":%ld,\"broker_pid\":%ld,\"broker_rss_kib_before\":%ld,\"broker_rss_kib_after\":%ld,"
                   "\"broker_rss_per_connection_kib\":%.3f,\"deflate_negotiated\":%d,\"extensions\":\"%s\",\"errors\":%llu}\n",
                   opt_idle, opt_broker_pid, rss0, rss1, per, deflate_count, json_str(extensions_seen), (unsigned long long)errors);
        else
            printf("idle connections              %ld\nbroker RSS before/after KiB   %ld / %ld\n"
                   "broker RSS per connection KiB %.3f\n",
                   opt_idle, rss0, rss1, per);
        return errors ? 1 : 0;
    }

    /* Four sampled subscribers, spread over the connection order; they inflate and time every message. */
    int nsampled = opt_subs < SAMPLED ? (int)opt_subs : SAMPLED;
    for (int j = 0; j < nsampled; j++) {
        long idx = nsampled == 1 ? 0 : (long)((double)(opt_subs - 1) * j / (nsampled - 1));
        if (!subs[idx].s) subs[idx].s = calloc(1, sizeof(sample));
    }
    lat_cap = (size_t)nsampled * (size_t)opt_messages;
    lat = malloc(lat_cap * sizeof *lat);
    ring = calloc((size_t)opt_window, sizeof *ring);
    filler = malloc(FILLER_POOL + (size_t)opt_size);
    for (size_t i = 0; i < FILLER_POOL + (size_t)opt_size; i++) { /* lowercase words: compressible like text, not trivially */
        uint64_t r = rnd() % 32;
        filler[i] = r < 26 ? (char)('a' + r) : ' ';
    }

    connect_subscribers();
    if (!pub_unix) {
        connect_publisher();
        int64_t deadline = now_ns() + 10000000000LL;
        while (pub.state != C_OPEN) {
            if (pub.state == C_DEAD) die("publisher: %s", first_error);
            if (now_ns() > deadline) die("timed out connecting the publisher");
            poll_once(100);
        }
    }
    run_for(200000000LL);
    if (errors) die("%s", first_error);

    if (opt_rate > 0) {
        timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TOKEN_TIMER};
        epoll_ctl(ep, EPOLL_CTL_ADD, timer_fd, &ev);
    }
    long rss0 = broker_rss_kib();
    int64_t bcpu0 = broker_cpu_ns(), scpu0 = self_cpu_ns();
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(opt_timeout * 1e9);
    t_sched0 = t0;
    int timed_out = 0;
    try_publish();
    while (completed < opt_messages && !fatal) {
        if (now_ns() > deadline) { timed_out = 1; break; }
        poll_once(100);
        try_publish();
    }
    int64_t bcpu1 = broker_cpu_ns(), scpu1 = self_cpu_ns();
    long rss1 = broker_rss_kib();
    /* the last +OK replies (not part of the measured period) */
    int64_t ack_deadline = now_ns() + 1000000000LL;
    while (pub_unix && !fatal && acks + pub_errs < published && now_ns() < ack_deadline) poll_once(10);
    if (pub_errs) note_error("publish refused: %s", pub_err_text);

    uint64_t expected = (uint64_t)opt_subs * (uint64_t)opt_messages;
    uint64_t deliveries = received_total;
    uint64_t lost = expected > deliveries ? expected - deliveries : 0;
    double period = t_last_completion > t_first_publish ? (double)(t_last_completion - t_first_publish) / 1e9 : 0;
    double dps = period > 0 ? (double)deliveries / period : 0;
    double bcpu = bcpu0 >= 0 && bcpu1 >= 0 && deliveries ? (double)(bcpu1 - bcpu0) / (double)deliveries : -1;
    double scpu = deliveries ? (double)(scpu1 - scpu0) / (double)deliveries : -1;
    qsort(lat, lat_n, sizeof *lat, cmp_i64);
    double p50 = pct_ms(0.50), p99 = pct_ms(0.99), pmax = lat_n ? (double)lat[lat_n - 1] / 1e6 : -1;
    if (timed_out) note_error("timed out after %.0f s with %ld of %ld messages complete", opt_timeout, completed, opt_messages);

    if (opt_json) {
        printf("{\"subscribers\":%ld,\"messages\":%ld,\"size\":%ld,\"window\":%ld,\"rate\":%g,\"compression\":%s,"
               "\"deflate_negotiated\":%d,\"extensions\":\"%s\",\"publish\":\"%s\","
               "\"deliveries\":%llu,\"expected_deliveries\":%llu,\"compressed_deliveries\":%llu,\"wire_bytes_per_delivery\":%.1f,"
               "\"deliveries_per_second\":%.1f,\"elapsed_s\":%.3f,"
               "\"lost\":%llu,\"unexpected\":%llu,\"errors\":%llu,\"first_error\":\"%s\",\"publish_acks\":%ld,\"publish_errors\":%ld,"
               "\"latency_samples\":%zu,\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,\"latency_max_ms\":%.3f,"
               "\"publish_lag_max_ms\":%.3f,\"broker_pid\":%ld,\"broker_cpu_ns_per_delivery\":%.1f,"
               "\"loadgen_cpu_ns_per_delivery\":%.1f,\"broker_rss_kib_before\":%ld,\"broker_rss_kib_after\":%ld}\n",
               opt_subs, opt_messages, opt_size, opt_window, opt_rate, opt_compression ? "true" : "false", deflate_count,
               json_str(extensions_seen), pub_unix ? "unix" : "ws", (unsigned long long)deliveries, (unsigned long long)expected,
               (unsigned long long)compressed_total, deliveries ? (double)sub_bytes / (double)deliveries : 0, dps, period,
               (unsigned long long)lost, (unsigned long long)unexpected, (unsigned long long)errors,
               json_str(first_error), acks, pub_errs, lat_n, p50, p99, pmax, (double)lag_max / 1e6, opt_broker_pid, bcpu, scpu,
               rss0, rss1);
    } else {
        printf("subscribers                   %ld\nmessages                      %ld\nsize                          %ld\n"
               "deliveries                    %llu of %llu\ndeliveries per second         %.0f\nlost                          %llu\n"
               "latency p50 / p99 / max ms    %.3f / %.3f / %.3f (%zu samples)\n"
               "broker CPU ns per delivery    %.1f\nloadgen CPU ns per delivery   %.1f\n"
               "broker RSS before/after KiB   %ld / %ld\npermessage-deflate agreed     %d of %ld (%s)\n"
               "compressed deliveries         %llu\nwire bytes per delivery       %.1f\n",
               opt_subs, opt_messages, opt_size, (unsigned long long)deliveries, (unsigned long long)expected, dps,
               (unsigned long long)lost, p50, p99, pmax, lat_n, bcpu, scpu, rss0, rss1, deflate_count, opt_subs,
               extensions_seen[0] ? extensions_seen : "none", (unsigned long long)compressed_total,
               deliveries ? (double)sub_bytes / (double)deliveries : 0);
        if (errors) printf("errors                        %llu (first: %s)\n", (unsigned long long)errors, first_error);
    }
    return errors || lost ? 1 : 0;
}
