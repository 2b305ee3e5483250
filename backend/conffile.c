// SPDX-License-Identifier: MIT
/*
 * xvbd.conf: a small INI reader, each value checked by the device type it
 * is for, and a device's settings drawn from it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conffile.h"
#include "devspec.h"
#include "lib/compiler.h"

#define MAX_ENTRIES 4096

static char *xb_cfg_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int xb_cfg_bad(char *err, size_t errlen, const char *path,
		      unsigned int no, const char *fmt, ...) __printf(5, 6);
static int xb_cfg_bad(char *err, size_t errlen, const char *path,
		      unsigned int no, const char *fmt, ...)
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

/* Letters, digits, '-' and '_': what the supervisor matches guests by. */
static bool xb_cfg_plain_name(const char *v)
{
	if (!*v)
		return false;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && *v != '-' && *v != '_')
			return false;
	return true;
}

/* The type whose section is [@sec], or NULL. */
static const struct xvb_devtype *xb_cfg_type_section(const char *sec)
{
	return xvb_devtype_by_name(sec);
}

/*
 * "NAME<devid>.KEY" or "ALIAS<devid>.KEY": the type in *@t, KEY in *@k.
 * Returns 1 for such a key, 0 for none, -EINVAL for a bad device number.
 */
static int xb_cfg_devkey(const char *key, const struct xvb_devtype **t,
			 const char **k)
{
	const char *dot = strchr(key, '.');

	for (unsigned int i = 0; dot && xvb_devtypes[i]; i++) {
		const struct xvb_devtype *ty = xvb_devtypes[i];
		const char *names[] = { ty->name, ty->alias };

		for (unsigned int j = 0; j < 2; j++) {
			size_t n = names[j] ? strlen(names[j]) : 0;
			char num[16];
			uint64_t v;

			if (!n || strncmp(key, names[j], n) ||
			    !isdigit((unsigned char)key[n]))
				continue;
			if ((size_t)(dot - key - n) >= sizeof(num))
				return -EINVAL;
			memcpy(num, key + n, dot - key - n);
			num[dot - key - n] = '\0';
			if (xb_parse_u64(num, 0, INT32_MAX, &v))
				return -EINVAL;
			*t = ty;
			*k = dot + 1;
			return 1;
		}
	}
	return 0;
}

/* The type with @key among its guest keys, or NULL. */
static const struct xvb_devtype *xb_cfg_guest_key(const char *key)
{
	for (unsigned int i = 0; xvb_devtypes[i]; i++)
		if (xb_key_in(xvb_devtypes[i]->guest_keys, key))
			return xvb_devtypes[i];
	return NULL;
}

/* The type that has @key as its unique key, or NULL. */
static const struct xvb_devtype *xb_cfg_unique_of(const char *key)
{
	for (unsigned int i = 0; xvb_devtypes[i]; i++)
		if (xvb_devtypes[i]->unique_key &&
		    !strcmp(xvb_devtypes[i]->unique_key, key))
			return xvb_devtypes[i];
	return NULL;
}

/* Whether @t takes @key: one of its own, or a tunable it has. */
static bool xb_cfg_type_takes(const struct xvb_devtype *t, const char *key)
{
	if (!strcmp(key, "queues"))
		return t->max_queues > 0;
	return xb_key_in(xb_tunable_keys, key) || xb_type_has_key(t, key);
}

/*
 * Checks @v for @key of type @t, as a spec would set it ("auto" leaving a
 * tunable to the device). Returns NULL, or why not (into @why).
 */
static const char *xb_cfg_value(const struct xvb_devtype *t, const char *key,
				const char *v, char *why, size_t whylen)
{
	static struct xb_devconf c; /* 8 KiB: not on the stack */
	char err[200];

	if (xb_key_in(xb_tunable_keys, key) && !strcmp(v, "auto"))
		return NULL;
	xb_devconf_init(&c, t);
	if (!xb_devconf_set(&c, key, v, err, sizeof(err)))
		return NULL;
	snprintf(why, whylen, "%s: %s", t->name, err);
	return why;
}

/* What a section of type @t takes, for a message. */
static void xb_cfg_known(const struct xvb_devtype *t, char *out, size_t len)
{
	out[0] = '\0';
	for (unsigned int i = 0; t->keys && t->keys[i]; i++)
		if (!t->unique_key || strcmp(t->keys[i], t->unique_key))
			snprintf(out + strlen(out), len - strlen(out), "%s, ",
				 t->keys[i]);
	snprintf(out + strlen(out), len - strlen(out), "%s%s",
		 t->max_queues ? "queues, " : "", "poll_us, coalesce_us");
}

/* @key = @v in the section of type @t. */
static const char *xb_cfg_type_key(const struct xvb_devtype *t, const char *key,
				   const char *v, char *why, size_t whylen)
{
	char known[200];

	if (t->unique_key && !strcmp(key, t->unique_key)) {
		snprintf(
			why, whylen,
			"a %s here would be shared by several devices: set %s<devid>.%s in [guest NAME]",
			key, t->alias ? t->alias : t->name, key);
		return why;
	}
	if (xb_cfg_type_takes(t, key))
		return xb_cfg_value(t, key, v, why, whylen);
	xb_cfg_known(t, known, sizeof(known));
	snprintf(why, whylen, "unknown key '%s' in [%s] (known: %s)", key,
		 t->name, known);
	return why;
}

/* @key = @v in a [guest NAME] section. */
static const char *xb_cfg_guest_keyval(const char *key, const char *v,
				       char *why, size_t whylen)
{
	const struct xvb_devtype *t = NULL;
	const char *k = key;
	int rc = xb_cfg_devkey(key, &t, &k);

	if (rc < 0) {
		snprintf(why, whylen, "bad device number in '%s'", key);
		return why;
	}
	if (rc > 0) {
		if (xb_cfg_type_takes(t, k))
			return xb_cfg_value(t, k, v, why, whylen);
		snprintf(why, whylen, "unknown key '%s' (%s takes ", key,
			 t->name);
		xb_cfg_known(t, why + strlen(why), whylen - strlen(why));
		snprintf(why + strlen(why), whylen - strlen(why), "%s%s)",
			 t->unique_key ? ", " : "",
			 t->unique_key ? t->unique_key : "");
		return why;
	}
	t = xb_cfg_guest_key(key);
	if (t)
		return xb_cfg_value(t, key, v, why, whylen);
	t = xb_cfg_unique_of(key);
	if (t)
		return xb_cfg_type_key(t, key, v, why, whylen);
	snprintf(
		why, whylen,
		"unknown key '%s' in a guest's section (NAME<devid>.KEY for one device, or a type's guest key)",
		key);
	return why;
}

/*
 * Checks @key = @v in section @sec ("NAME" or "guest GUEST"). Returns
 * NULL, or why not (into @why).
 */
static const char *xb_cfg_check_key(const char *sec, const char *key,
				    const char *v, char *why, size_t whylen)
{
	const struct xvb_devtype *t = xb_cfg_type_section(sec), *dt;
	const char *k;

	if (!strncmp(sec, "guest ", 6))
		return xb_cfg_guest_keyval(key, v, why, whylen);
	if (xb_cfg_devkey(key, &dt, &k)) {
		snprintf(
			why, whylen,
			"%s: NAME<devid>.KEY belongs in a [guest NAME] section",
			key);
		return why;
	}
	return xb_cfg_type_key(t, key, v, why, whylen);
}

/* The entry of @key in @section, or NULL. */
static const struct xb_cfg_entry *
xb_cfg_find(const struct xb_config *cfg, const char *section, const char *key)
{
	for (unsigned int i = 0; i < cfg->n; i++)
		if (!strcmp(cfg->e[i].section, section) &&
		    !strcmp(cfg->e[i].key, key))
			return &cfg->e[i];
	return NULL;
}

/* The unique key a per-device @key sets ("mac" of "nic0.mac"), or NULL. */
static const char *xb_cfg_unique(const char *key)
{
	const struct xvb_devtype *t;
	const char *k;

	if (xb_cfg_devkey(key, &t, &k) <= 0 || !t->unique_key ||
	    strcmp(k, t->unique_key))
		return NULL;
	return t->unique_key;
}

/*
 * Two devices with one unique value (two NICs with one MAC) break both:
 * the entry that gives @value already for the same type's unique key.
 */
static const struct xb_cfg_entry *
xb_cfg_unique_twice(const struct xb_config *cfg, const char *key,
		    const char *value)
{
	const struct xvb_devtype *t, *ot;
	const char *k, *ok;

	if (!xb_cfg_unique(key))
		return NULL;
	xb_cfg_devkey(key, &t, &k);
	for (unsigned int i = 0; i < cfg->n; i++) {
		const struct xb_cfg_entry *o = &cfg->e[i];

		if (xb_cfg_unique(o->key) && xb_cfg_devkey(o->key, &ot, &ok) &&
		    ot == t && !strcasecmp(o->value, value))
			return o;
	}
	return NULL;
}

/* @s in capitals ("MAC"), into @buf. */
static const char *xb_cfg_upper(char *buf, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < len; i++)
		buf[i] = toupper((unsigned char)s[i]);
	buf[i] = '\0';
	return buf;
}

/* Checks and adds one setting; -EINVAL with the reason in @err. */
static int xb_cfg_add(struct xb_config *cfg, const char *section,
		      const char *key, const char *value, const char *path,
		      unsigned int no, char *err, size_t errlen)
{
	struct xb_cfg_entry *e;
	const struct xb_cfg_entry *o;
	const char *why, *unique = xb_cfg_unique(key);
	char buf[256];

	if (!*key)
		return xb_cfg_bad(err, errlen, path, no, "no key before '='");
	if (strlen(key) >= sizeof(e->key))
		return xb_cfg_bad(err, errlen, path, no,
				  "key longer than %zu characters",
				  sizeof(e->key) - 1);
	if (!*value)
		return xb_cfg_bad(err, errlen, path, no, "%s has no value",
				  key);
	if (strlen(value) >= sizeof(e->value))
		return xb_cfg_bad(err, errlen, path, no,
				  "value of %s longer than %zu characters", key,
				  sizeof(e->value) - 1);
	why = xb_cfg_check_key(section, key, value, buf, sizeof(buf));
	if (why)
		return xb_cfg_bad(err, errlen, path, no, "%s", why);
	o = xb_cfg_find(cfg, section, key);
	if (o)
		return xb_cfg_bad(err, errlen, path, no,
				  "%s set twice in [%s] (first on line %u)",
				  key, section, o->line);
	o = xb_cfg_unique_twice(cfg, key, value);
	if (o)
		return xb_cfg_bad(err, errlen, path, no,
				  "%s %s is also given on line %u",
				  xb_cfg_upper(buf, sizeof(buf), unique), value,
				  o->line);
	if (cfg->n == MAX_ENTRIES)
		return xb_cfg_bad(err, errlen, path, no,
				  "more than %d settings", MAX_ENTRIES);
	e = realloc(cfg->e, (cfg->n + 1) * sizeof(*e));
	if (!e)
		return xb_cfg_bad(err, errlen, path, no, "out of memory");
	cfg->e = e;
	e = &cfg->e[cfg->n++];
	snprintf(e->section, sizeof(e->section), "%s", section);
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(e->value, sizeof(e->value), "%s", value);
	e->line = no;
	return 0;
}

/* The device types' names, for a message: "blk, net". */
static const char *xb_cfg_types(char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned int i = 0; xvb_devtypes[i]; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s[%s]",
			 i ? ", " : "", xvb_devtypes[i]->name);
	return buf;
}

/* Parses one line (comment cut, trimmed); updates @section. */
static int xb_cfg_parse_line(struct xb_config *cfg, char *s, char *section,
			     size_t seclen, const char *path, unsigned int no,
			     char *err, size_t errlen)
{
	char *eq, *name, types[96];

	for (const char *p = s; *p; p++)
		if (iscntrl((unsigned char)*p) && *p != '\t')
			return xb_cfg_bad(
				err, errlen, path, no,
				"control character 0x%02x: is this a text file?",
				(unsigned char)*p);
	if (*s == '[') {
		char *close = strchr(s, ']');

		if (!close)
			return xb_cfg_bad(err, errlen, path, no,
					  "section header without ']'");
		if (close[1])
			return xb_cfg_bad(err, errlen, path, no,
					  "text after the section header");
		*close = '\0';
		name = xb_cfg_trim(s + 1);
		if (xb_cfg_type_section(name)) {
			snprintf(section, seclen, "%s", name);
			return 0;
		}
		if (!strncmp(name, "guest", 5) &&
		    isspace((unsigned char)name[5])) {
			char *g = xb_cfg_trim(name + 5);

			if (!xb_cfg_plain_name(g) || strlen(g) >= 64)
				return xb_cfg_bad(
					err, errlen, path, no,
					"guest name '%.64s' is not 1 to 63 letters, digits, '-' or '_' (xvbd matches guests by such names)",
					g);
			snprintf(section, seclen, "guest %s", g);
			return 0;
		}
		return xb_cfg_bad(
			err, errlen, path, no,
			"unknown section [%.64s] (known: [guest NAME] and a device type's: %s)",
			name, xb_cfg_types(types, sizeof(types)));
	}
	eq = strchr(s, '=');
	if (!eq)
		return xb_cfg_bad(err, errlen, path, no,
				  "neither [section] nor key = value");
	if (!section[0])
		return xb_cfg_bad(err, errlen, path, no,
				  "key = value before any [section]");
	*eq = '\0';
	return xb_cfg_add(cfg, section, xb_cfg_trim(s), xb_cfg_trim(eq + 1),
			  path, no, err, errlen);
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
			rc = xb_cfg_bad(err, errlen, path, no,
					"NUL byte: is this a text file?");
			break;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		if (*xb_cfg_trim(line))
			rc = xb_cfg_parse_line(cfg, xb_cfg_trim(line), section,
					       sizeof(section), path, no, err,
					       errlen);
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
	const struct xb_cfg_entry *e = xb_cfg_find(cfg, section, key);

	/* A key is set once per section: the loader refuses a second. */
	return e ? e->value : NULL;
}

const char *xb_config_dev(const struct xb_config *cfg,
			  const struct xvb_devtype *t, const char *guest,
			  unsigned int devid, const char *key)
{
	const char *names[] = { t->name, t->alias };
	char section[80], dkey[48];
	const char *v = NULL;

	snprintf(section, sizeof(section), "guest %s", guest ? guest : "");
	for (unsigned int i = 0; guest && !v && i < 2; i++) {
		if (!names[i])
			continue;
		snprintf(dkey, sizeof(dkey), "%s%u.%s", names[i], devid, key);
		v = xb_config_get(cfg, section, dkey);
	}
	if (!v && guest && xb_key_in(t->guest_keys, key))
		v = xb_config_get(cfg, section, key);
	if (!v)
		v = xb_config_get(cfg, t->name, key);
	return v;
}
