// SPDX-License-Identifier: MIT
/*
 * xvbd's command line as documented: --help and dist/xvbd.8 against the
 * parser's own table (long_opts in backend/main.c, included here). Every
 * public option is in --help, in the man page's SYNOPSIS and OPTIONS;
 * neither names an option the parser does not take; both give the same
 * window and SPI ranges as backend/layout.h.
 */
#include <fcntl.h>

int xvbd_main(int argc, char **argv);
#define main xvbd_main
#include "../../backend/main.c"
#undef main

#include "t.h"

/* The parser calls these; nothing here runs a supervisor or a worker. */
int xb_supervisor_run(const char *config, const char *run_dir,
		      enum log_level level)
{
	return 99;
}

int xb_worker_run(const struct xb_worker_args *a)
{
	return 98;
}

int xb_stop_all(const char *dir)
{
	return 97;
}

/* Options the supervisor passes its workers; not for users. */
static bool internal(const char *name)
{
	return !strcmp(name, "worker") || !strcmp(name, "ctl-fd") ||
	       !strcmp(name, "stale-server") || !strcmp(name, "guest");
}

static char help[8192], man[65536];

static int read_help(void)
{
	FILE *f = fmemopen(help, sizeof(help) - 1, "w");

	T_CHECK(f);
	xb_main_usage(f);
	T_CHECK(!ferror(f));
	fclose(f);
	return 0;
}

/* dist/xvbd.8, from the tree's root (make check's directory) or beside
 * this file's source. */
static int read_man(void)
{
	char path[512];
	FILE *f = fopen("dist/xvbd.8", "r");
	size_t n;

	if (!f) {
		snprintf(path, sizeof(path), "%s", __FILE__);
		*strrchr(path, '/') = '\0';
		strncat(path, "/../../dist/xvbd.8",
			sizeof(path) - strlen(path) - 1);
		f = fopen(path, "r");
	}
	T_CHECK(f);
	n = fread(man, 1, sizeof(man) - 1, f);
	fclose(f);
	man[n] = '\0';
	return 0;
}

/* The man page's text between ".SH @name" and the next ".SH". */
static int man_section(const char *name, char *out, size_t size)
{
	char head[64];
	const char *s, *e;

	snprintf(head, sizeof(head), "\n.SH %s\n", name);
	s = strstr(man, head);
	T_CHECK(s);
	s += strlen(head);
	e = strstr(s, "\n.SH ");
	if (!e)
		e = s + strlen(s);
	T_CHECK((size_t)(e - s) < size);
	memcpy(out, s, e - s);
	out[e - s] = '\0';
	return 0;
}

/* Roff's "\-\-name" for "--name" ("\-" is a minus sign). */
static void roff(const char *opt, char *out, size_t size)
{
	size_t n = 0;

	for (; *opt && n + 3 < size; opt++) {
		if (*opt == '-')
			out[n++] = '\\';
		out[n++] = *opt;
	}
	out[n] = '\0';
}

/* Whether @text holds @word ending at a non-name character. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
		char c = p[n];

		if (!(c >= 'a' && c <= 'z') && c != '-' && c != '\\')
			return true;
	}
	return false;
}

static void every_option_in_help(void)
{
	char want[64];

	T_ASSERT(!read_help());
	for (const struct option *o = long_opts; o->name; o++) {
		if (internal(o->name))
			continue;
		snprintf(want, sizeof(want), "--%s", o->name);
		if (!has_word(help, want)) {
			t_fail(__FILE__, __LINE__, "--help lacks %s", want);
			return;
		}
		if (o->val < 256) { /* a short option: "-v, --verbose" */
			snprintf(want, sizeof(want), "-%c, --%s", o->val,
				 o->name);
			if (!strstr(help, want)) {
				t_fail(__FILE__, __LINE__, "--help lacks %s",
				       want);
				return;
			}
		}
	}
}

/* Whether a line right after ".TP" in @text holds @want. */
static bool tp_entry(const char *text, const char *want)
{
	for (const char *p = strstr(text, ".TP\n"); p;
	     p = strstr(p + 1, ".TP\n")) {
		const char *line = p + 4, *end = strchr(line, '\n');
		char buf[256];
		size_t n = end ? (size_t)(end - line) : strlen(line);

		if (n >= sizeof(buf))
			continue;
		memcpy(buf, line, n);
		buf[n] = '\0';
		if (has_word(buf, want))
			return true;
	}
	return false;
}

static void every_option_in_man_page(void)
{
	static char synopsis[4096], options[32768];
	char want[64];

	T_ASSERT(!read_man());
	T_ASSERT(!man_section("SYNOPSIS", synopsis, sizeof(synopsis)));
	T_ASSERT(!man_section("OPTIONS", options, sizeof(options)));
	for (const struct option *o = long_opts; o->name; o++) {
		char opt[48];

		if (internal(o->name))
			continue;
		snprintf(opt, sizeof(opt), "--%s", o->name);
		roff(opt, want, sizeof(want));
		snprintf(opt, sizeof(opt), "\\-%c", o->val);
		/* The synopsis may give the short form alone ([-v]). */
		if (!has_word(synopsis, want) &&
		    !(o->val < 256 && has_word(synopsis, opt))) {
			snprintf(opt, sizeof(opt), "--%s", o->name);
			t_fail(__FILE__, __LINE__, "SYNOPSIS lacks %s", opt);
			return;
		}
		snprintf(opt, sizeof(opt), "--%s", o->name);
		/* An entry of its own: the line after a ".TP". */
		if (!tp_entry(options, want)) {
			t_fail(__FILE__, __LINE__, "OPTIONS lacks %s", opt);
			return;
		}
	}
}

/* Every "--word" in @text is an option the parser takes (and public). */
static int only_known(const char *text, const char *what, bool escaped)
{
	const char *dash = escaped ? "\\-\\-" : "--";

	for (const char *p = strstr(text, dash); p; p = strstr(p + 1, dash)) {
		char name[48];
		size_t n = 0;
		const struct option *o;

		for (const char *q = p + strlen(dash);
		     n + 1 < sizeof(name) &&
		     ((*q >= 'a' && *q <= 'z') || *q == '-' || *q == '\\');
		     q++)
			if (*q != '\\')
				name[n++] = *q;
		name[n] = '\0';
		while (n && name[n - 1] == '-')
			name[--n] = '\0';
		if (!n)
			continue;
		for (o = long_opts; o->name && strcmp(o->name, name); o++)
			;
		if (!o->name || internal(name)) {
			t_fail(__FILE__, __LINE__,
			       "%s names --%s, which the parser does not take",
			       what, name);
			return -1;
		}
	}
	return 0;
}

static void no_unknown_options(void)
{
	static char synopsis[4096], options[32768];

	T_ASSERT(!read_help());
	T_ASSERT(!read_man());
	T_ASSERT(!man_section("SYNOPSIS", synopsis, sizeof(synopsis)));
	T_ASSERT(!man_section("OPTIONS", options, sizeof(options)));
	T_ASSERT(!only_known(help, "--help", false));
	/* Other sections may name other programs' options (blockdev's). */
	T_ASSERT(!only_known(synopsis, "xvbd.8's SYNOPSIS", true));
	T_ASSERT(!only_known(options, "xvbd.8's OPTIONS", true));
}

/* The window's base range and the SPIs, as layout.h has them. */
static void ranges_agree(void)
{
	char bases[64], spis[32];

	T_ASSERT(!read_help());
	T_ASSERT(!read_man());
	snprintf(bases, sizeof(bases), "0x%llx..0x%llx", XB_MMIO_BASE,
		 XB_MMIO_BASE + XB_MMIO_SIZE - XB_MMIO_DEV_SIZE);
	snprintf(spis, sizeof(spis), "%d..%d", XB_SPI_FIRST, XB_SPI_LAST);
	T_ASSERT(strstr(help, bases));
	T_ASSERT(strstr(man, bases));
	T_ASSERT(strstr(help, spis));
	T_ASSERT(strstr(man, spis));
	/* No other range of addresses in either. */
	for (const char *p = strstr(man, "0x2"); p; p = strstr(p + 1, "0x2"))
		T_ASSERT(!strncmp(p, "0x2000000..", 11) ||
			 !strncmp(p, bases + 11, strlen(bases) - 11) ||
			 !strncmp(p, "0x200", 5));
}

/* Every device type of the registry in --help and in DEVICE TYPES. */
static void every_type_documented(void)
{
	static char types[8192];
	char want[64];

	T_ASSERT(!read_help());
	T_ASSERT(!read_man());
	T_ASSERT(!man_section("DEVICE TYPES", types, sizeof(types)));
	for (unsigned int i = 0; xvb_devtypes[i]; i++) {
		snprintf(want, sizeof(want), "\n  %s ", xvb_devtypes[i]->name);
		T_ASSERT(strstr(help, want));
		snprintf(want, sizeof(want), ".TP\n.B %s\n",
			 xvb_devtypes[i]->name);
		T_ASSERT(strstr(types, want));
	}
}

/* What the parser makes of some command lines (output thrown away). */
static void parser_exit_codes(void)
{
	static const struct {
		const char *args[4];
		int code;
	} cases[] = {
		{ { "--help" }, 0 },
		{ { "-h" }, 0 },
		{ { "--version" }, 0 },
		{ { "-V" }, 0 },
		{ { "--bogus" }, EX_USAGE },
		{ { "--domain", "1" }, EX_USAGE },
		{ { "--blk", "x" }, EX_USAGE },
		{ { "--dev", "disk:base=0x2000000" }, EX_USAGE },
		{ { "--dev", "net:base=0x2000000" }, EX_USAGE },
		{ { "--check-config", "/nonexistent/x.conf" }, EX_NOINPUT },
		{ { "--check-config", "a", "b" }, EX_USAGE },
		{ { "--config", "x", "--run-dir", "/tmp" },
		  99 }, /* supervisor */
	};
	int rc[ARRAY_SIZE(cases)], null, out, err;

	fflush(stdout);
	fflush(stderr);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	out = dup(1);
	err = dup(2);
	T_ASSERT(null >= 0 && out >= 0 && err >= 0);
	dup2(null, 1);
	dup2(null, 2);
	opterr = 0;
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		char *argv[6] = { (char *)"xvbd" };
		int argc = 1;

		for (unsigned int j = 0; j < 4 && cases[i].args[j]; j++)
			argv[argc++] = (char *)cases[i].args[j];
		optind = 0; /* getopt_long starts afresh */
		rc[i] = xvbd_main(argc, argv);
		fflush(stdout);
		fflush(stderr);
	}
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		if (rc[i] != cases[i].code) {
			t_fail(__FILE__, __LINE__, "xvbd %s ...: %d, not %d",
			       cases[i].args[0], rc[i], cases[i].code);
			return;
		}
}

T_MAIN(T_CASE(every_option_in_help), T_CASE(every_option_in_man_page),
       T_CASE(no_unknown_options), T_CASE(ranges_agree),
       T_CASE(every_type_documented), T_CASE(parser_exit_codes))
