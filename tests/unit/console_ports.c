// SPDX-License-Identifier: MIT
/*
 * virtio-console ports: the guest discovers named ports (PORT_ADD,
 * PORT_NAME, CONSOLE_PORT for a console), each a 0600 socket; a client's
 * connect and close reach the guest as PORT_OPEN, the guest's close reaches
 * the client as the end of its stream; one client per port; reset keeps a
 * client, destroy closes it and removes the sockets; bad names refused.
 */
#include "console_rig.h"

static const char *const three = "org.qemu.guest_agent.0:ser1:x-2";

/* Names, config space and socket files, as the guest and dom0 see them. */
static void ports_discovered(void)
{
	struct crig_opts o = { .ports = three };
	struct crig r CRIG_SCOPED = { 0 };
	static const char *const names[] = { "org.qemu.guest_agent.0", "ser1",
					     "x-2" };
	struct stat st;

	T_CR_START(&r, &o);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	T_EQ(gdrv_r32(&r.drv, VIRTIO_MMIO_CONFIG + 4), 3); /* max_nr_ports */
	for (unsigned int i = 0; i < 3; i++) {
		char path[VCON_PATH_MAX + 8];

		T_ASSERT(r.gp[i].added);
		T_ASSERT(!strcmp(r.gp[i].name, names[i]));
		T_ASSERT(!r.gp[i].console);
		T_EQ(r.gp[i].host_open, -1); /* no client: nothing said */
		snprintf(path, sizeof(path), "%s/%s", r.dir, names[i]);
		T_ASSERT(!strcmp(vcon_port_path(r.con, i), path));
		T_ASSERT(!lstat(path, &st));
		T_ASSERT(S_ISSOCK(st.st_mode));
		T_EQ(st.st_mode & 0777, 0600);
		T_EQ(st.st_uid, geteuid());
	}
	T_ASSERT(!vcon_port_path(r.con, 3));
	T_EQ(r.gp[3].added, false);
	T_EQ(r.ctrl_unknown, 0);
	T_ASSERT(!cr_needs_reset(&r));
	T_CR_FINI(&r);
}

/* console=on: port 0, and only it, is announced as a console. */
static void console_port(void)
{
	struct crig_opts o = { .ports = "hvc:agent", .console = true };
	struct crig r CRIG_SCOPED = { 0 };

	T_CR_START(&r, &o);
	T_ASSERT(CR_WAIT(&r, r.gp[0].console));
	T_ASSERT(!r.gp[1].console);
	T_ASSERT(!strcmp(r.gp[0].name, "hvc"));
	T_CR_FINI(&r);
}

/* Without MULTIPORT: port 0 alone, no control queue, open from the start. */
static void no_multiport(void)
{
	struct crig_opts o = { .ports = "c0:c1", .no_multiport = true };
	struct crig r CRIG_SCOPED = { 0 };
	uint8_t out[300], in[300];
	size_t at = 0;
	int c;

	T_CR_START(&r, &o);
	c = cr_connect(&r, 0);
	T_ASSERT(c >= 0);
	cr_pattern(out, sizeof(out), 5);
	T_ASSERT(!cr_guest_post(&r, 0, 4, 256));
	T_EQ(send(c, out, sizeof(out), 0), (long)sizeof(out));
	T_ASSERT(CR_WAIT(&r, (cr_guest_read(&r, 0, in, &at, sizeof(in)),
			      at == sizeof(out))));
	T_ASSERT(!memcmp(in, out, sizeof(out)));
	T_EQ(r.ctrl_msgs, 0);
	close(c);
	T_CR_FINI(&r);
}

/* A client's connect and close reach the guest; twice over. */
static void host_open_close(void)
{
	struct crig_opts o = { .ports = three };
	struct crig r CRIG_SCOPED = { 0 };
	int c;

	T_CR_START(&r, &o);
	for (unsigned int round = 1; round <= 2; round++) {
		c = cr_connect(&r, 1);
		T_ASSERT(c >= 0);
		T_ASSERT(CR_WAIT(&r, r.gp[1].host_open == 1));
		T_EQ(r.gp[1].opens, round);
		close(c);
		T_ASSERT(CR_WAIT(&r, r.gp[1].host_open == 0));
		T_EQ(r.gp[1].closes, round);
	}
	/* The other ports heard nothing. */
	T_EQ(r.gp[0].host_open, -1);
	T_EQ(r.gp[2].host_open, -1);
	T_EQ(cr_stats(&r).clients, 2);
	T_CR_FINI(&r);
}

/* A client already there when the guest readies the port: told at once. */
static void client_before_driver(void)
{
	struct crig_opts o = { .ports = "early", .no_up = true };
	struct crig r CRIG_SCOPED = { 0 };
	int c;

	T_CR_START(&r, &o);
	c = cr_connect(&r, 0);
	T_ASSERT(c >= 0);
	cr_settle(&r, 20); /* accepted before any driver */
	T_CR(&r, crig_up(&r));
	T_ASSERT(CR_WAIT(&r, r.gp[0].host_open == 1));
	close(c);
	T_CR_FINI(&r);
}

/* The guest closes its end: the client sees the end of its stream. */
static void guest_close_seen(void)
{
	struct crig_opts o = { .ports = "a:b" };
	struct crig r CRIG_SCOPED = { 0 };
	static const char msg[] = "bye from the guest";
	char got[64];
	size_t at = 0;
	int c;

	T_CR_START(&r, &o);
	c = cr_connect(&r, 1);
	T_ASSERT(c >= 0);
	T_ASSERT(CR_WAIT(&r, r.gp[1].host_open == 1));
	T_ASSERT(!cr_send(&r, 1, VIRTIO_CONSOLE_PORT_OPEN, 1));
	/* What it wrote just before closing still goes out first. */
	T_EQ(cr_guest_write(&r, 1, (const uint8_t *)msg, sizeof(msg), 64, 1),
	     sizeof(msg));
	T_ASSERT(!cr_send(&r, 1, VIRTIO_CONSOLE_PORT_OPEN, 0));
	T_ASSERT(CR_WAIT(&r, (cr_read_some(c, (uint8_t *)got, &at, sizeof(got)),
			      at == sizeof(msg) && cr_eof(c))));
	T_ASSERT(!memcmp(got, msg, sizeof(msg)));
	/* And the guest hears the client is gone. */
	T_ASSERT(CR_WAIT(&r, r.gp[1].host_open == 0));
	close(c);
	T_CR_FINI(&r);
}

/* One client per port: a second is closed, the first keeps the port. */
static void one_client(void)
{
	struct crig_opts o = { .ports = "solo" };
	struct crig r CRIG_SCOPED = { 0 };
	int c1, c2;

	T_CR_START(&r, &o);
	c1 = cr_connect(&r, 0);
	T_ASSERT(c1 >= 0);
	T_ASSERT(CR_WAIT(&r, r.gp[0].host_open == 1));
	c2 = cr_connect(&r, 0);
	T_ASSERT(c2 >= 0);
	T_ASSERT(CR_WAIT(&r, cr_eof(c2)));
	T_EQ(cr_stats(&r).refused, 1);
	T_ASSERT(!cr_eof(c1));
	T_EQ(r.gp[0].opens, 1);
	T_EQ(r.gp[0].closes, 0);
	close(c2);
	close(c1);
	T_CR_FINI(&r);
}

/*
 * Reset with a client connected: the client stays, the next driver hears
 * it is there. Destroy then closes it and removes every socket file.
 */
static void reset_and_destroy_with_client(void)
{
	struct crig_opts o = { .ports = "p0:p1" };
	struct crig r CRIG_SCOPED = { 0 };
	uint8_t junk[4096];
	char path[VCON_PATH_MAX];
	int c;

	T_CR_START(&r, &o);
	c = cr_connect(&r, 1);
	T_ASSERT(c >= 0);
	T_ASSERT(CR_WAIT(&r, r.gp[1].host_open == 1));
	/* I/O in flight both ways at the reset. */
	T_ASSERT(!cr_send(&r, 1, VIRTIO_CONSOLE_PORT_OPEN, 1));
	T_ASSERT(!cr_guest_post(&r, 1, 2, 64));
	cr_pattern(junk, sizeof(junk), 1);
	cr_guest_write(&r, 1, junk, sizeof(junk), 512, 2);
	cr_settle(&r, 10);
	gdrv_reset(&r.drv);
	T_EQ(fg_live(r.fg), 0);
	T_ASSERT(!cr_eof(c));
	T_CR(&r, crig_up(&r));
	T_ASSERT(CR_WAIT(&r, r.gp[1].host_open == 1));
	snprintf(path, sizeof(path), "%s", vcon_port_path(r.con, 1));
	vcon_destroy(r.con);
	r.con = NULL;
	while (recv(c, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		; /* what the guest wrote before the reset */
	T_ASSERT(cr_eof(c));
	T_ASSERT(access(path, F_OK) && errno == ENOENT);
	close(c);
	T_CR_FINI(&r);
}

/* Names that could leave the directory, or are not names, are refused. */
static void bad_port_names(void)
{
	static const char *const bad[] = {
		"",
		":",
		"a::b",
		"a:",
		":a",
		".",
		"..",
		"a:..",
		"../x",
		"a/b",
		"/etc",
		"sp ace",
		"tab\t",
		"new\nline",
		"a,b",
		"a=b",
		"caf\xc3\xa9",
		"a:b:a",
		"0123456789012345678901234567890123456789012345678901234567890123",
		"a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p:q",
	};
	static const char *const good[] = {
		"org.qemu.guest_agent.0",
		"a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p",
		"012345678901234567890123456789012345678901234567890123456789012",
		".hidden",
		"x..y",
	};
	struct vcon_conf conf;
	char err[256];

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&conf, 0, sizeof(conf));
		err[0] = '\0';
		if (!vcon_parse_ports(&conf, bad[i], err, sizeof(err))) {
			t_fail(__FILE__, __LINE__, "ports='%s' accepted",
			       bad[i]);
			return;
		}
		T_ASSERT(err[0]);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(good); i++) {
		memset(&conf, 0, sizeof(conf));
		T_EQ(vcon_parse_ports(&conf, good[i], err, sizeof(err)), 0);
	}
	T_EQ(conf.nr_ports, 1);
	T_ASSERT(!strcmp(conf.names[0], "x..y"));
	/* A conf built by hand is checked again at create. */
	memset(&conf, 0, sizeof(conf));
	conf.nr_ports = 1;
	snprintf(conf.names[0], sizeof(conf.names[0]), "..");
	snprintf(conf.dir, sizeof(conf.dir), "/tmp");
	{
		FG_SCOPED struct fakeguest *fg = fg_new(1 << 20);
		struct vcon *con = (struct vcon *)1;
		struct evl loop;

		T_ASSERT(fg);
		T_EQ(evl_init(&loop, 8), 0);
		T_EQ(vcon_create(&con, &conf, NULL, &fg->gmem, &loop), -EINVAL);
		T_ASSERT(!con);
		evl_exit(&loop);
	}
}

/* A socket directory others may write to is refused; no file is made. */
static void unsafe_dir(void)
{
	struct vcon_conf conf = { .nr_ports = 1 };
	char dir[] = "/tmp/xvbcon.XXXXXX", path[64];
	FG_SCOPED struct fakeguest *fg = fg_new(1 << 20);
	struct vcon *con;
	struct evl loop;
	int fds = t_count_fds(0);

	T_ASSERT(fg && mkdtemp(dir));
	T_EQ(chmod(dir, 0777), 0);
	snprintf(conf.names[0], sizeof(conf.names[0]), "p");
	snprintf(conf.dir, sizeof(conf.dir), "%s", dir);
	T_EQ(evl_init(&loop, 8), 0);
	T_EQ(vcon_create(&con, &conf, NULL, &fg->gmem, &loop), -EINVAL);
	snprintf(path, sizeof(path), "%s/p", dir);
	T_ASSERT(access(path, F_OK));
	/* Something else at a port's path is left alone, and refused. */
	T_EQ(chmod(dir, 0700), 0);
	T_EQ(mkdir(path, 0700), 0);
	T_EQ(vcon_create(&con, &conf, NULL, &fg->gmem, &loop), -EEXIST);
	T_EQ(rmdir(path), 0);
	evl_exit(&loop);
	T_EQ(rmdir(dir), 0);
	T_EQ(t_count_fds(0), fds);
}

/* Without dir=, <run_dir>/<guest> is made 0700 and removed at destroy. */
static void default_dir(void)
{
	char run[] = "/tmp/xvbrun.XXXXXX", path[96];
	struct vcon_conf conf = { .nr_ports = 1 };
	struct vcon_env env = { .domid = 9, .name = "vcon-test" };
	FG_SCOPED struct fakeguest *fg = fg_new(1 << 20);
	struct vcon *con;
	struct evl loop;
	struct stat st;

	T_ASSERT(fg && mkdtemp(run));
	env.run_dir = run;
	snprintf(conf.names[0], sizeof(conf.names[0]), "agent");
	T_EQ(evl_init(&loop, 32), 0);
	for (unsigned int i = 0; i < 3; i++) {
		/* A name unfit for a directory falls back to d<domid>. */
		env.guest = i == 2 ? "d9.sock" : i ? "bad/name" : "guest-1";
		T_EQ(vcon_create(&con, &conf, &env, &fg->gmem, &loop), 0);
		snprintf(path, sizeof(path), "%s/%s", run,
			 i ? "d9" : "guest-1");
		T_ASSERT(!lstat(path, &st) && S_ISDIR(st.st_mode));
		T_EQ(st.st_mode & 0777, 0700);
		snprintf(path + strlen(path), sizeof(path) - strlen(path),
			 "/agent");
		T_ASSERT(!strcmp(vcon_port_path(con, 0), path));
		vcon_destroy(con);
		T_ASSERT(access(path, F_OK));
	}
	evl_exit(&loop);
	T_EQ(rmdir(run), 0); /* empty again */
}

/*
 * Two consoles of one guest share its directory, not a port name: the
 * second naming the first's port is refused; the directory goes with the
 * last of them.
 */
static void two_consoles_one_guest(void)
{
	char run[] = "/tmp/xvbrun.XXXXXX", dir[64];
	struct vcon_conf a = { .nr_ports = 1 }, b = { .nr_ports = 1 };
	struct vcon_env env = { .domid = 4, .guest = "g", .name = "vcon" };
	FG_SCOPED struct fakeguest *fg = fg_new(1 << 20);
	struct vcon *ca, *cb, *cc;
	struct evl loop;
	int fds = t_count_fds(0);

	T_ASSERT(fg && mkdtemp(run));
	env.run_dir = run;
	snprintf(dir, sizeof(dir), "%s/g", run);
	snprintf(a.names[0], sizeof(a.names[0]), "agent");
	snprintf(b.names[0], sizeof(b.names[0]), "other");
	T_EQ(evl_init(&loop, 32), 0);
	T_EQ(vcon_create(&ca, &a, &env, &fg->gmem, &loop), 0);
	T_EQ(vcon_create(&cc, &a, &env, &fg->gmem, &loop), -EADDRINUSE);
	T_ASSERT(!access(vcon_port_path(ca, 0), F_OK)); /* still the first's */
	T_EQ(vcon_create(&cb, &b, &env, &fg->gmem, &loop), 0);
	vcon_destroy(ca);
	T_ASSERT(!access(dir, F_OK)); /* the other's socket is in it */
	vcon_destroy(cb);
	T_ASSERT(access(dir, F_OK));
	evl_exit(&loop);
	T_EQ(rmdir(run), 0);
	T_EQ(t_count_fds(0), fds);
}

T_MAIN(T_CASE(ports_discovered), T_CASE(console_port), T_CASE(no_multiport),
       T_CASE(host_open_close), T_CASE(client_before_driver),
       T_CASE(guest_close_seen), T_CASE(one_client),
       T_CASE(reset_and_destroy_with_client), T_CASE(bad_port_names),
       T_CASE(unsafe_dir), T_CASE(default_dir), T_CASE(two_consoles_one_guest))
