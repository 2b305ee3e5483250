// SPDX-License-Identifier: MIT
/*
 * nettool: the traffic of the network tests and of bench-net, run inside
 * the namespaces with `ip netns exec`. TCP streams checked end to end by a
 * hash, request/response latency, raw probe frames, a UDP flood.
 *
 *   nettool sink PORT [N]               accept N streams (default 1); answer
 *                                       each with "<bytes> <hash>"
 *   nettool source HOST PORT BYTES SEED stream BYTES of SEED's data, compare
 *                                       the sink's answer; exit 0 if equal
 *   nettool echo PORT                   echo one connection's requests
 *   nettool rr HOST PORT SECONDS SIZE   request/response round trips:
 *                                       one JSON line with p50/p99
 *   nettool inject IFNAME DSTMAC N      N probe frames (ethertype 0x88b5)
 *   nettool flood HOST PORT SECONDS     64-byte UDP datagrams, as fast as
 *                                       the socket takes them
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netpacket/packet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256u << 10)
#define PROBE_ETHERTYPE 0x88b5

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "nettool: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* The stream of @seed: 64-bit words of xorshift64*, little-endian. */
struct gen {
	uint64_t x;
};

static uint64_t gen_next(struct gen *g)
{
	g->x ^= g->x >> 12;
	g->x ^= g->x << 25;
	g->x ^= g->x >> 27;
	return g->x * 0x2545f4914f6cdd1dull;
}

/* A running hash of a byte stream, whatever the read sizes. */
struct hash {
	uint64_t h, n;
};

static void hash_bytes(struct hash *h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h->h ^= p[i] + (h->n++ & 0xff);
		h->h *= 0x100000001b3ull;
	}
}

/* Reads a whole stream from @fd, hashing it. */
static void drain(int fd, struct hash *h)
{
	static uint8_t buf[CHUNK];
	ssize_t n;

	h->h = 0xcbf29ce484222325ull;
	h->n = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		hash_bytes(h, buf, n);
	if (n < 0)
		die("read");
}

static int listen_on(int port, int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, type, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		die("bind");
	if (type == SOCK_STREAM && listen(fd, 8))
		die("listen");
	return fd;
}

/* Connects, retrying for 5 s while the peer's listener comes up. */
static int connect_to(const char *host, int port, int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	double end = now_s() + 5;
	int fd;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "nettool: bad address %s\n", host);
		exit(2);
	}
	for (;;) {
		fd = socket(AF_INET, type, 0);
		if (fd < 0)
			die("socket");
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fd;
		close(fd);
		if (now_s() > end)
			die("connect");
		usleep(50000);
	}
}

static int cmd_sink(int argc, char **argv)
{
	int lfd = listen_on(atoi(argv[0]), SOCK_STREAM);
	int n = argc > 1 ? atoi(argv[1]) : 1;

	for (int i = 0; i < n; i++) {
		int fd = accept(lfd, NULL, NULL);
		struct hash h;
		char ans[64];
		int len;

		if (fd < 0)
			die("accept");
		drain(fd, &h);
		len = snprintf(ans, sizeof(ans), "%" PRIu64 " %016" PRIx64 "\n",
			       h.n, h.h);
		if (write(fd, ans, len) != len)
			die("write");
		close(fd);
		printf("sink: %" PRIu64 " bytes, hash %016" PRIx64 "\n", h.n,
		       h.h);
	}
	close(lfd);
	return 0;
}

static int cmd_source(int argc, char **argv)
{
	static uint64_t buf[CHUNK / 8];
	uint64_t total = strtoull(argv[2], NULL, 0), sent = 0, got_n = 0;
	struct gen g = { strtoull(argv[3], NULL, 0) | 1 };
	struct hash h = { 0xcbf29ce484222325ull, 0 };
	int fd = connect_to(argv[0], atoi(argv[1]), SOCK_STREAM);
	double t0 = now_s(), secs;
	char ans[64] = "";
	uint64_t got_h = 0;
	ssize_t n;

	while (sent < total) {
		size_t len = total - sent < CHUNK ? total - sent : CHUNK;

		for (size_t i = 0; i < (len + 7) / 8; i++)
			buf[i] = htole64(gen_next(&g));
		hash_bytes(&h, (const uint8_t *)buf, len);
		for (size_t off = 0; off < len; off += n) {
			n = write(fd, (const uint8_t *)buf + off, len - off);
			if (n <= 0)
				die("write");
		}
		sent += len;
	}
	shutdown(fd, SHUT_WR);
	n = read(fd, ans, sizeof(ans) - 1);
	secs = now_s() - t0;
	close(fd);
	if (n > 0)
		ans[n] = '\0';
	if (n <= 0 ||
	    sscanf(ans, "%" SCNu64 " %" SCNx64, &got_n, &got_h) != 2) {
		printf("source: no answer from the sink\n");
		return 1;
	}
	printf("source: %" PRIu64
	       " bytes in %.2f s (%.2f Gbit/s), hash %016" PRIx64 ", sink %s\n",
	       sent, secs, sent * 8 / secs / 1e9, h.h,
	       got_n == sent && got_h == h.h ? "agrees" : "DIFFERS");
	return got_n == sent && got_h == h.h ? 0 : 1;
}

static int cmd_echo(int argc, char **argv)
{
	int lfd = listen_on(atoi(argv[0]), SOCK_STREAM), one = 1;
	int fd = accept(lfd, NULL, NULL);
	char buf[65536];
	ssize_t n;

	if (fd < 0)
		die("accept");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			break;
	close(fd);
	close(lfd);
	return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_rr(int argc, char **argv)
{
	int fd = connect_to(argv[0], atoi(argv[1]), SOCK_STREAM), one = 1;
	double secs = atof(argv[2]), t0, end, *lat;
	size_t size = atoi(argv[3]), n = 0, cap = 1 << 20;
	char buf[65536];

	if (!size || size > sizeof(buf))
		return 2;
	lat = malloc(cap * sizeof(*lat));
	if (!lat)
		die("malloc");
	memset(buf, 'r', size);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now_s();
	end = t0 + secs;
	while (n < cap) {
		double t = now_s();
		size_t got = 0;
		ssize_t r;

		if (t >= end)
			break;
		if (write(fd, buf, size) != (ssize_t)size)
			die("write");
		while (got < size) {
			r = read(fd, buf, size - got);
			if (r <= 0)
				die("read");
			got += r;
		}
		lat[n++] = (now_s() - t) * 1e6;
	}
	secs = now_s() - t0;
	close(fd);
	if (!n)
		return 1;
	qsort(lat, n, sizeof(*lat), cmp_dbl);
	printf("{\"transactions\":%zu,\"seconds\":%.3f,\"tps\":%.1f,", n, secs,
	       n / secs);
	printf("\"p50_us\":%.2f,\"p99_us\":%.2f,\"size\":%zu}\n", lat[n / 2],
	       lat[n * 99 / 100], size);
	free(lat);
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
	return 0;
}

static int cmd_inject(int argc, char **argv)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(PROBE_ETHERTYPE),
				   .sll_halen = 6 };
	int n = atoi(argv[2]), fd = socket(AF_PACKET, SOCK_RAW, 0);
	uint8_t f[64] = { 0 };

	if (fd < 0)
		die("socket");
	sll.sll_ifindex = if_nametoindex(argv[0]);
	if (!sll.sll_ifindex || parse_mac(argv[1], f)) {
		fprintf(stderr, "nettool: bad interface or MAC\n");
		return 2;
	}
	memcpy(sll.sll_addr, f, 6);
	f[6] = 0x02; /* a locally administered source */
	f[11] = 0x99;
	f[12] = PROBE_ETHERTYPE >> 8;
	f[13] = PROBE_ETHERTYPE & 0xff;
	for (int i = 0; i < n; i++) {
		f[14] = i;
		if (sendto(fd, f, sizeof(f), 0, (struct sockaddr *)&sll,
			   sizeof(sll)) != sizeof(f))
			die("sendto");
	}
	close(fd);
	return 0;
}

static int cmd_flood(int argc, char **argv)
{
	int fd = connect_to(argv[0], atoi(argv[1]), SOCK_DGRAM);
	double end = now_s() + atof(argv[2]);
	uint64_t n = 0, err = 0;
	char buf[64] = { 0 };

	while (now_s() < end) {
		for (int i = 0; i < 256; i++) {
			if (send(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0)
				err++;
			else
				n++;
		}
	}
	printf("flood: %" PRIu64 " datagrams sent, %" PRIu64 " refused\n", n,
	       err);
	close(fd);
	return 0;
}

static const struct {
	const char *name;
	int args;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "sink", 1, cmd_sink },     { "source", 4, cmd_source },
	{ "echo", 1, cmd_echo },     { "rr", 4, cmd_rr },
	{ "inject", 3, cmd_inject }, { "flood", 3, cmd_flood },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name) && argc - 2 >= cmds[i].args)
			return cmds[i].fn(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: nettool sink|source|echo|rr|inject|flood ... (see the source)\n");
	return 2;
}
