// SPDX-License-Identifier: MIT
/* xvbd.conf: a small INI reader and the NIC settings drawn from it. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "config.h"
#include "lib/compiler.h"

#define MAX_ENTRIES 4096

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int bad(char *err, size_t errlen, const char *path, unsigned int no,
	       const char *fmt, ...) __printf(5, 6);
static int bad(char *err, size_t errlen, const char *path, unsigned int no,
	       const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, errlen, "%s:%u: ", path, no);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* "auto" (where @can_auto), or a number in [@min, @max]. */
static bool num_ok(const char *v, uint64_t min, uint64_t max, bool can_auto)
{
	uint64_t n;

	return (can_auto && !strcmp(v, "auto")) ||
	       !xb_parse_u64(v, min, max, &n);
}

/* Letters, digits, '-' and '_': what the supervisor matches guests by. */
static bool plain_name(const char *v)
{
	if (!*v)
		return false;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && *v != '-' && *v != '_')
			return false;
	return true;
}

bool xb_bridge_ok(const char *br)
{
	return br[0] && strlen(br) < IFNAMSIZ && !strpbrk(br, ",/ \t:") &&
	       strcmp(br, ".") && strcmp(br, "..");
}

/*
 * Checks @key = @v in section @sec ("net", "blk" or "guest NAME"). Returns
 * NULL, or why not (into @why, or a constant).
 */
static const char *check_key(const char *sec, const char *key, const char *v,
			     char *why, size_t whylen)
{
	bool guest = !strncmp(sec, "guest ", 6);
	const char *k = key;
	uint8_t mac[6];
	bool nic = false;

	/* nicN.KEY: NIC N (its index or disk-slot devid) of one guest. */
	if (!strncmp(key, "nic", 3) && isdigit((unsigned char)key[3])) {
		const char *dot = strchr(key, '.');
		char num[16];
		uint64_t n;

		if (!guest)
			return "nicN.KEY belongs in a [guest NAME] section";
		if (!dot || (size_t)(dot - key - 3) >= sizeof(num))
			return "expected nicN.KEY (bridge, mac, queues, "
			       "poll_us)";
		memcpy(num, key + 3, dot - key - 3);
		num[dot - key - 3] = '\0';
		if (xb_parse_u64(num, 0, INT32_MAX, &n))
			return "bad NIC number in nicN.KEY";
		k = dot + 1;
		nic = true;
	}
	if (!strcmp(k, "bridge") && (nic || guest || !strcmp(sec, "net"))) {
		if (strcmp(v, "none") && !xb_bridge_ok(v))
			return "bridge must be an interface name (at most 15 "
			       "characters, no spaces, '/', ',' or ':') or "
			       "none";
		return NULL;
	}
	if (!strcmp(k, "mac")) {
		if (!nic)
			return "a MAC here would be shared by several NICs: "
			       "set nicN.mac in [guest NAME]";
		if (xb_parse_mac(v, mac))
			return "mac must be a unicast aa:bb:cc:dd:ee:ff";
		return NULL;
	}
	/* queues and poll_us: a NIC's in [net] or as nicN.KEY, a disk's in
	 * [blk] or (plain) in [guest NAME]. */
	if (!strcmp(k, "queues") && (nic || !strcmp(sec, "net"))) {
		if (!num_ok(v, 1, XB_MAX_PAIRS, true))
			snprintf(why, whylen,
				 "a NIC's queues must be auto or 1 to %u",
				 XB_MAX_PAIRS);
		return num_ok(v, 1, XB_MAX_PAIRS, true) ? NULL : why;
	}
	if (!strcmp(k, "poll_us") && (nic || !strcmp(sec, "net"))) {
		if (!num_ok(v, 0, XB_MAX_POLL_US, false))
			snprintf(why, whylen, "a NIC's poll_us must be 0 to %u",
				 XB_MAX_POLL_US);
		return num_ok(v, 0, XB_MAX_POLL_US, false) ? NULL : why;
	}
	if (!strcmp(k, "queues") && !nic && (guest || !strcmp(sec, "blk"))) {
		if (!num_ok(v, 1, XB_MAX_QUEUES, true))
			snprintf(why, whylen,
				 "a disk's queues must be auto or 1 to %u",
				 XB_MAX_QUEUES);
		return num_ok(v, 1, XB_MAX_QUEUES, true) ? NULL : why;
	}
	if (!strcmp(k, "poll_us") && !nic && (guest || !strcmp(sec, "blk"))) {
		if (!num_ok(v, 0, XB_MAX_POLL_US, true))
			snprintf(why, whylen,
				 "a disk's poll_us must be auto or 0 to %u",
				 XB_MAX_POLL_US);
		return num_ok(v, 0, XB_MAX_POLL_US, true) ? NULL : why;
	}
	snprintf(why, whylen, "unknown key '%s' in [%s] (known: %s)", key, sec,
		 !strcmp(sec, "net") ? "bridge, queues, poll_us" :
		 !strcmp(sec, "blk") ? "queues, poll_us" :
				       "bridge, queues, poll_us, nicN.bridge, "
				       "nicN.mac, nicN.queues, nicN.poll_us");
	return why;
}

/* The entry of @key in @section, or NULL. */
static const struct xb_cfg_entry *find(const struct xb_config *cfg,
				       const char *section, const char *key)
{
	for (unsigned int i = 0; i < cfg->n; i++)
		if (!strcmp(cfg->e[i].section, section) &&
		    !strcmp(cfg->e[i].key, key))
			return &cfg->e[i];
	return NULL;
}

/* Checks and adds one setting; -EINVAL with the reason in @err. */
static int add(struct xb_config *cfg, const char *section, const char *key,
	       const char *value, const char *path, unsigned int no, char *err,
	       size_t errlen)
{
	struct xb_cfg_entry *e;
	const struct xb_cfg_entry *o;
	const char *why;
	char buf[160];
	uint8_t mac[6], omac[6];

	if (!*key)
		return bad(err, errlen, path, no, "no key before '='");
	if (strlen(key) >= sizeof(e->key))
		return bad(err, errlen, path, no,
			   "key longer than %zu characters",
			   sizeof(e->key) - 1);
	if (!*value)
		return bad(err, errlen, path, no, "%s has no value", key);
	if (strlen(value) >= sizeof(e->value))
		return bad(err, errlen, path, no,
			   "value of %s longer than %zu characters", key,
			   sizeof(e->value) - 1);
	why = check_key(section, key, value, buf, sizeof(buf));
	if (why)
		return bad(err, errlen, path, no, "%s", why);
	o = find(cfg, section, key);
	if (o)
		return bad(err, errlen, path, no,
			   "%s set twice in [%s] (first on line %u)", key,
			   section, o->line);
	/* Two NICs with one MAC break both: refused wherever they are. */
	if (strstr(key, ".mac") && !xb_parse_mac(value, mac)) {
		for (unsigned int i = 0; i < cfg->n; i++) {
			o = &cfg->e[i];
			if (strstr(o->key, ".mac") &&
			    !xb_parse_mac(o->value, omac) &&
			    !memcmp(mac, omac, sizeof(mac)))
				return bad(err, errlen, path, no,
					   "MAC %s is also given on line %u",
					   value, o->line);
		}
	}
	if (cfg->n == MAX_ENTRIES)
		return bad(err, errlen, path, no, "more than %d settings",
			   MAX_ENTRIES);
	e = realloc(cfg->e, (cfg->n + 1) * sizeof(*e));
	if (!e)
		return bad(err, errlen, path, no, "out of memory");
	cfg->e = e;
	e = &cfg->e[cfg->n++];
	snprintf(e->section, sizeof(e->section), "%s", section);
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(e->value, sizeof(e->value), "%s", value);
	e->line = no;
	return 0;
}

/* Parses one line (comment cut, trimmed); updates @section. */
static int parse_line(struct xb_config *cfg, char *s, char *section,
		      size_t seclen, const char *path, unsigned int no,
		      char *err, size_t errlen)
{
	char *eq, *name;

	for (const char *p = s; *p; p++)
		if (iscntrl((unsigned char)*p) && *p != '\t')
			return bad(err, errlen, path, no,
				   "control character 0x%02x: is this a text "
				   "file?",
				   (unsigned char)*p);
	if (*s == '[') {
		char *close = strchr(s, ']');

		if (!close)
			return bad(err, errlen, path, no,
				   "section header without ']'");
		if (close[1])
			return bad(err, errlen, path, no,
				   "text after the section header");
		*close = '\0';
		name = trim(s + 1);
		if (!strcmp(name, "net") || !strcmp(name, "blk")) {
			snprintf(section, seclen, "%s", name);
			return 0;
		}
		if (!strncmp(name, "guest", 5) &&
		    isspace((unsigned char)name[5])) {
			char *g = trim(name + 5);

			if (!plain_name(g) || strlen(g) >= 64)
				return bad(err, errlen, path, no,
					   "guest name '%.64s' is not 1 to 63 "
					   "letters, digits, '-' or '_' (xvbd "
					   "matches guests by such names)",
					   g);
			snprintf(section, seclen, "guest %s", g);
			return 0;
		}
		return bad(err, errlen, path, no,
			   "unknown section [%.64s] (known: [net], [blk], "
			   "[guest NAME])",
			   name);
	}
	eq = strchr(s, '=');
	if (!eq)
		return bad(err, errlen, path, no,
			   "neither [section] nor key = value");
	if (!section[0])
		return bad(err, errlen, path, no,
			   "key = value before any [section]");
	*eq = '\0';
	return add(cfg, section, trim(s), trim(eq + 1), path, no, err, errlen);
}

int xb_config_load(struct xb_config *cfg, const char *path, bool must_exist,
		   char *err, size_t errlen)
{
	char section[72] = "", *line = NULL;
	unsigned int no = 0;
	size_t cap = 0;
	struct stat st;
	ssize_t len;
	FILE *f;
	int rc = 0;

	cfg->n = 0;
	cfg->e = NULL;
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		if (rc == -ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(-rc));
		return rc;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -ENODEV;
		snprintf(err, errlen, "cannot read %s: %s", path,
			 S_ISDIR(st.st_mode) ? "it is a directory" :
					       "not a regular file");
		fclose(f);
		return rc;
	}
	errno = 0;
	while (!rc && (len = getline(&line, &cap, f)) >= 0) {
		char *hash;

		no++;
		if (strlen(line) != (size_t)len) {
			rc = bad(err, errlen, path, no,
				 "NUL byte: is this a text file?");
			break;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		if (*trim(line))
			rc = parse_line(cfg, trim(line), section,
					sizeof(section), path, no, err, errlen);
		errno = 0;
	}
	if (!rc && ferror(f)) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(-rc));
	}
	free(line);
	fclose(f);
	if (rc)
		xb_config_free(cfg);
	return rc;
}

void xb_config_free(struct xb_config *cfg)
{
	free(cfg->e);
	cfg->e = NULL;
	cfg->n = 0;
}

const char *xb_config_get(const struct xb_config *cfg, const char *section,
			  const char *key)
{
	const struct xb_cfg_entry *e = find(cfg, section, key);

	/* A key is set once per section: the loader refuses a second. */
	return e ? e->value : NULL;
}

void xb_derive_mac(const char *name, unsigned int index, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	char buf[96];
	int i;

	snprintf(buf, sizeof(buf), "xvb/%s/%u", name, index);
	for (const char *p = buf; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	for (i = 0; i < 6; i++)
		mac[i] = h >> (8 * i);
	mac[0] = (mac[0] & 0xfc) | 0x02; /* local, unicast */
}

/* @key of NIC @index: nicN.key, then key, in [guest NAME], then [net]. */
static const char *nic_get(const struct xb_config *cfg, const char *name,
			   unsigned int index, const char *key)
{
	char section[72], nkey[32];
	const char *v;

	snprintf(section, sizeof(section), "guest %s", name);
	snprintf(nkey, sizeof(nkey), "nic%u.%s", index, key);
	v = xb_config_get(cfg, section, nkey);
	if (!v)
		v = xb_config_get(cfg, section, key);
	if (!v)
		v = xb_config_get(cfg, "net", key);
	return v;
}

int xb_config_nic(const struct xb_config *cfg, const char *name,
		  unsigned int index, char bridge[IFNAMSIZ], uint8_t mac[6],
		  char *err, size_t errlen)
{
	const char *br = nic_get(cfg, name, index, "bridge");
	const char *m = nic_get(cfg, name, index, "mac");

	if (!br)
		br = XB_DEFAULT_BRIDGE;
	if (strcmp(br, "none") && !xb_bridge_ok(br)) {
		snprintf(err, errlen, "bad bridge name '%s'", br);
		return -EINVAL;
	}
	/* "none": leave the TAP alone, for a hotplug script to attach. */
	snprintf(bridge, IFNAMSIZ, "%s", strcmp(br, "none") ? br : "");
	if (!m) {
		xb_derive_mac(name, index, mac);
		return 0;
	}
	if (xb_parse_mac(m, mac)) {
		snprintf(err, errlen, "bad unicast mac '%s'", m);
		return -EINVAL;
	}
	return 0;
}
