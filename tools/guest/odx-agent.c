/*
 * odx-agent: the reference guest agent of OnDemandExecution (protocol ODX1, docs/guest-agent-protocol.md).
 *
 * A small static C program (gcc -static -Os): one process, one poll loop, no fork except to start the loaded
 * program. It answers HEALTH and CANCEL while a program runs, reseeds the kernel RNG from host entropy (SEED) and
 * kills a running program's whole process group on CANCEL.
 *
 * Transports (one per process):
 *   (default)            the virtio-serial port named org.ondemandexecution.agent.0 (QEMU), found under
 *                        /sys/class/virtio-ports; --port NAME picks another name
 *   --connect PATH       connect to a Unix stream socket the host listens on (runc containers: the host's socket
 *                        bind-mounted into the container); reconnects when the host closes it
 *   --vsock-listen PORT  listen on AF_VSOCK PORT and serve one connection at a time (Hyper-V sockets)
 *
 * Build: gcc -static -Os -o odx-agent odx-agent.c  (tools/build-guest-image.sh does it)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/random.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AGENT_VERSION "odx-agent-c/2.0"
#define FEATURES "seed,cancel"
#define MAX_HEADER 1024
#define MAX_BODY (256 * 1024 * 1024)
#define STDERR_TAIL 4096
#define STATE_DIR "/run/odx"

enum transport { T_PORT, T_CONNECT, T_VSOCK };

static enum transport g_transport = T_PORT;
static const char *g_port_name = "org.ondemandexecution.agent.0";
static const char *g_connect_path;
static unsigned g_vsock_port;
static const char *g_work = "/work";
static int g_fd = -1;        /* the channel */
static int g_listen_fd = -1; /* vsock listener */
static int g_sigfd = -1;
static char *g_cmd;          /* the loaded command, or NULL */
static char g_instance_id[256];

/* the running program */
static pid_t g_child = -1;     /* its pid (= its process group), or -1 */
static pid_t g_last_pgid = -1; /* the group of the last program, kept so CANCEL can confirm it is gone */
static long g_child_req = -1;  /* the INVOKE request id it answers */
static struct timespec g_child_started;

/* files placed by FILE, removed by RESET */
static char **g_files;
static size_t g_nfiles;

/* input buffer of the channel */
static unsigned char g_in[65536];
static size_t g_in_len;

static void logmsg(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        fd = dup(2);
    if (fd >= 0) {
        dprintf(fd, "odx-agent: %s\n", buf);
        close(fd);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pfd = { fd, POLLOUT, 0 };
                poll(&pfd, 1, 100);
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One response frame: header "ODX1 TYPE ID LEN [ARGS]" then body1 and body2 back to back. */
static void reply2(const char *type, long id, const char *args, const void *b1, size_t n1, const void *b2, size_t n2)
{
    char hdr[MAX_HEADER];
    int h = snprintf(hdr, sizeof hdr, "ODX1 %s %ld %zu%s%s\n", type, id, n1 + n2, args && *args ? " " : "", args ? args : "");
    if (h <= 0 || h >= (int)sizeof hdr)
        return;
    if (g_fd < 0)
        return;
    if (write_all(g_fd, hdr, (size_t)h) < 0 || (n1 && write_all(g_fd, b1, n1) < 0) || (n2 && write_all(g_fd, b2, n2) < 0))
        logmsg("writing a %s frame failed: %s", type, strerror(errno));
}

static void reply(const char *type, long id, const char *args, const char *text)
{
    reply2(type, id, args, text, text ? strlen(text) : 0, NULL, 0);
}

static void reply_error(long id, const char *code, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    reply("ERROR", id, code, buf);
}

/* ---- transport ---------------------------------------------------------------------------------------------- */

static int find_port(char *dev, size_t devlen)
{
    DIR *d = opendir("/sys/class/virtio-ports");
    if (!d)
        return -1;
    struct dirent *e;
    int found = -1;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "vport", 5) != 0)
            continue;
        char path[300], name[256];
        snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, name, sizeof name - 1);
        close(fd);
        if (n <= 0)
            continue;
        name[n] = 0;
        if (name[n - 1] == '\n')
            name[n - 1] = 0;
        if (strcmp(name, g_port_name) == 0) {
            snprintf(dev, devlen, "/dev/%s", e->d_name);
            found = 0;
            break;
        }
    }
    closedir(d);
    return found;
}

static int open_channel(void)
{
    if (g_transport == T_PORT) {
        char dev[300];
        for (int i = 0; i < 1000; i++) {
            if (find_port(dev, sizeof dev) == 0) {
                /* no udev: create the node if devtmpfs did not */
                int fd = open(dev, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
                if (fd >= 0)
                    return fd;
            }
            sleep_ms(10);
        }
        logmsg("port %s not found", g_port_name);
        return -1;
    }
    if (g_transport == T_CONNECT) {
        for (;;) {
            int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                return -1;
            struct sockaddr_un a = { .sun_family = AF_UNIX };
            strncpy(a.sun_path, g_connect_path, sizeof a.sun_path - 1);
            if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
                fcntl(fd, F_SETFL, O_NONBLOCK);
                return fd;
            }
            close(fd);
            sleep_ms(20);
        }
    }
    /* vsock */
    if (g_listen_fd < 0) {
        g_listen_fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (g_listen_fd < 0) {
            logmsg("AF_VSOCK: %s", strerror(errno));
            return -1;
        }
        struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_port = g_vsock_port, .svm_cid = VMADDR_CID_ANY };
        if (bind(g_listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(g_listen_fd, 1) < 0) {
            logmsg("vsock port %u: %s", g_vsock_port, strerror(errno));
            return -1;
        }
    }
    for (;;) {
        int fd = accept4(g_listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0)
            return fd;
        if (errno != EINTR)
            sleep_ms(20);
    }
}

/* ---- files -------------------------------------------------------------------------------------------------- */

static int mkdirs(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, data, len);
    if (close(fd) < 0)
        rc = -1;
    if (rc == 0)
        rc = chmod(path, mode);
    return rc;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    size_t cap = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (*len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t n = read(fd, buf + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        *len += (size_t)n;
    }
    close(fd);
    return buf;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* deletes what is inside dir (not dir itself) */
static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    closedir(d);
}

/* ---- processes ---------------------------------------------------------------------------------------------- */

static void reap_all(void);

static long elapsed_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - g_child_started.tv_sec) * 1000000L + (now.tv_nsec - g_child_started.tv_nsec) / 1000;
}

/* Sends the RESULT of the finished program (status as from waitpid). */
static void finish_child(int status)
{
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
    long us = elapsed_us();
    size_t olen = 0, elen = 0;
    unsigned char *out = read_file(STATE_DIR "/out", &olen);
    unsigned char *err = read_file(STATE_DIR "/err", &elen);
    const unsigned char *tail = err;
    if (elen > STDERR_TAIL) {
        tail = err + (elen - STDERR_TAIL);
        elen = STDERR_TAIL;
    }
    char args[96];
    snprintf(args, sizeof args, "%d %ld %zu", code, us, olen);
    reply2("RESULT", g_child_req, args, out, olen, tail, elen);
    free(out);
    free(err);
    unlink(STATE_DIR "/in");
    unlink(STATE_DIR "/out");
    unlink(STATE_DIR "/err");
    g_child = -1;
    g_child_req = -1;
}

/* Reaps every exited child (PID 1 and a subreaper inherit orphans); answers the INVOKE when its program exits. */
static void reap_all(void)
{
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
        if (p == g_child)
            finish_child(status);
    }
}

/* Whether any process of group pgid is left (zombies count until reaped, so reap first). */
static int group_alive(pid_t pgid)
{
    reap_all();
    return pgid > 0 && (kill(-pgid, 0) == 0 || errno == EPERM);
}

/* SIGKILLs group pgid and waits (bounded) until no process of it is left. Returns 1 when it is gone. */
static int kill_group(pid_t pgid)
{
    if (pgid <= 0)
        return 1;
    for (int i = 0; i < 500; i++) {
        if (!group_alive(pgid))
            return 1;
        kill(-pgid, SIGKILL);
        sleep_ms(i < 10 ? 1 : 10);
    }
    return !group_alive(pgid);
}

static void start_program(long id, const char *invocation_id, const unsigned char *payload, size_t len)
{
    if (write_file(STATE_DIR "/in", payload, len, 0600) < 0) {
        reply_error(id, "io", "cannot write the payload: %s", strerror(errno));
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &g_child_started);
    pid_t pid = fork();
    if (pid < 0) {
        reply_error(id, "io", "fork failed: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        /* the program's own session and process group: CANCEL kills the whole group */
        setsid();
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        int in = open(STATE_DIR "/in", O_RDONLY);
        int out = open(STATE_DIR "/out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(STATE_DIR "/err", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0)
            _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        if (in > 2)
            close(in);
        if (out > 2)
            close(out);
        if (err > 2)
            close(err);
        if (chdir(g_work) < 0)
            _exit(126);
        if (invocation_id)
            setenv("ODX_INVOCATION_ID", invocation_id, 1);
        else
            unsetenv("ODX_INVOCATION_ID");
        if (g_instance_id[0])
            setenv("ODX_INSTANCE_ID", g_instance_id, 1);
        execl("/bin/sh", "sh", "-c", g_cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also from the parent, so the group exists before any CANCEL */
    g_child = pid;
    g_last_pgid = pid;
    g_child_req = id;
}

/* ---- requests ----------------------------------------------------------------------------------------------- */

static void do_seed(long id, const char *instance_id, const unsigned char *body, size_t len)
{
    if (instance_id)
        snprintf(g_instance_id, sizeof g_instance_id, "%s", instance_id);
    const char *how = "none";
    if (len > 0) {
        int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            reply_error(id, "io", "cannot open /dev/urandom: %s", strerror(errno));
            return;
        }
        size_t n = len > 512 ? 512 : len;
        struct {
            struct rand_pool_info info;
            unsigned char buf[512];
        } req;
        req.info.entropy_count = (int)(n * 8);
        req.info.buf_size = (int)n;
        memcpy(req.buf, body, n);
        if (ioctl(fd, RNDADDENTROPY, &req) == 0) {
            how = ioctl(fd, RNDRESEEDCRNG) == 0 ? "addentropy+reseed" : "addentropy";
        } else if (write_all(fd, body, n) == 0) {
            how = "write"; /* no CAP_SYS_ADMIN (a container): mixed in, not credited */
        }
        close(fd);
        memset(&req, 0, sizeof req);
    }
    /* the kernel makes its boot id on the first read; nothing reads it before the first SEED of a clone */
    char boot_id[64] = "unknown";
    int b = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (b >= 0) {
        ssize_t r = read(b, boot_id, sizeof boot_id - 1);
        boot_id[r > 0 ? r : 0] = 0;
        if (r > 0 && boot_id[r - 1] == '\n')
            boot_id[r - 1] = 0;
        close(b);
    }
    char text[256];
    snprintf(text, sizeof text, "reseed=%s boot_id=%s", how, boot_id);
    reply("OK", id, NULL, text);
}

static void do_cancel(long id)
{
    if (g_child > 0) {
        pid_t group = g_child;
        long invoke = g_child_req;
        int gone = kill_group(group); /* the leader's exit sends the INVOKE's RESULT (status 137) */
        if (g_child == group) {
            /* not reaped yet (should not happen once the group is gone) */
            reap_all();
        }
        char args[64];
        snprintf(args, sizeof args, "%s %ld", gone ? "killed" : "alive", invoke);
        if (gone)
            reply("OK", id, args, "the program's process group is gone");
        else
            reply_error(id, "cancel-failed", "process group %d survived SIGKILL", (int)group);
        return;
    }
    /* nothing running: make sure what the last program left in its group is gone too */
    if (g_last_pgid > 0 && group_alive(g_last_pgid)) {
        int gone = kill_group(g_last_pgid);
        if (!gone) {
            reply_error(id, "cancel-failed", "process group %d survived SIGKILL", (int)g_last_pgid);
            return;
        }
        reply("OK", id, "killed 0", "the last program's leftover processes are gone");
        return;
    }
    reply("OK", id, "idle 0", "no program was running");
}

static void do_reset(long id)
{
    if (g_child > 0 || g_last_pgid > 0) {
        kill_group(g_child > 0 ? g_child : g_last_pgid);
    }
    if (getpid() == 1) {
        /* everything but PID 1 (this agent) */
        kill(-1, SIGKILL);
        for (int i = 0; i < 200; i++) {
            reap_all();
            if (kill(-1, 0) < 0 && errno == ESRCH)
                break;
            sleep_ms(5);
        }
    }
    reap_all();
    if (g_child > 0) {
        /* the leader is gone but was not reaped by the loop above */
        g_child = -1;
    }
    g_last_pgid = -1;
    for (size_t i = 0; i < g_nfiles; i++) {
        unlink(g_files[i]);
        free(g_files[i]);
    }
    free(g_files);
    g_files = NULL;
    g_nfiles = 0;
    empty_dir(g_work);
    if (getpid() == 1)
        empty_dir("/tmp"); /* only when this agent owns the whole guest or container: never a host's /tmp */
    mkdirs(g_work);
    free(g_cmd);
    g_cmd = NULL;
    reply("OK", id, NULL, "");
}

static void do_health(long id)
{
    char up[64] = "?", text[160];
    int fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, up, sizeof up - 1);
        up[n > 0 ? n : 0] = 0;
        char *sp = strchr(up, ' ');
        if (sp)
            *sp = 0;
        close(fd);
    }
    snprintf(text, sizeof text, "uptime=%s running=%d", up, g_child > 0 ? 1 : 0);
    reply("OK", id, NULL, text);
}

static int valid_path(const char *p)
{
    return p && *p && strstr(p, "..") == NULL;
}

static void handle(const char *type, long id, char **args, int nargs, const unsigned char *body, size_t len)
{
    int busy = g_child > 0;
    if (strcmp(type, "HELLO") == 0) {
        reply("READY", id, "1 " AGENT_VERSION " " FEATURES, "");
    } else if (strcmp(type, "HEALTH") == 0) {
        do_health(id);
    } else if (strcmp(type, "CANCEL") == 0) {
        do_cancel(id);
    } else if (strcmp(type, "SEED") == 0) {
        do_seed(id, nargs > 0 ? args[0] : NULL, body, len);
    } else if (strcmp(type, "RESET") == 0) {
        do_reset(id);
    } else if (strcmp(type, "SHUTDOWN") == 0) {
        reply("OK", id, NULL, "");
        sync();
        if (getpid() == 1)
            reboot(RB_POWER_OFF);
        exit(0);
    } else if (busy && (strcmp(type, "FILE") == 0 || strcmp(type, "LOAD") == 0 || strcmp(type, "INVOKE") == 0)) {
        reply_error(id, "busy", "a program is still running (request %ld)", g_child_req);
    } else if (strcmp(type, "FILE") == 0) {
        if (nargs < 1 || !valid_path(args[0])) {
            reply_error(id, "io", "FILE needs a path without '..'");
            return;
        }
        char p[4096];
        if (args[0][0] == '/')
            snprintf(p, sizeof p, "%s", args[0]);
        else
            snprintf(p, sizeof p, "%s/%s", g_work, args[0]);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", p);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = 0;
            mkdirs(dir);
        }
        if (write_file(p, body, len, 0755) < 0) {
            reply_error(id, "io", "cannot write %s: %s", p, strerror(errno));
            return;
        }
        g_files = realloc(g_files, (g_nfiles + 1) * sizeof *g_files);
        g_files[g_nfiles++] = strdup(p);
        reply("OK", id, NULL, "");
    } else if (strcmp(type, "LOAD") == 0) {
        free(g_cmd);
        g_cmd = malloc(len + 1);
        memcpy(g_cmd, body, len);
        g_cmd[len] = 0;
        reply("OK", id, NULL, "");
    } else if (strcmp(type, "INVOKE") == 0) {
        if (!g_cmd) {
            reply_error(id, "not-loaded", "no function loaded");
            return;
        }
        start_program(id, nargs > 0 ? args[0] : NULL, body, len);
    } else {
        reply_error(id, "unknown-type", "unknown message type '%s'", type);
    }
}

/* ---- framing ------------------------------------------------------------------------------------------------ */

/* Reads at least one more byte into g_in. Returns >0 read, 0 end of stream, -1 would block. */
static ssize_t fill(void)
{
    if (g_in_len == sizeof g_in)
        return -2;
    ssize_t n = read(g_fd, g_in + g_in_len, sizeof g_in - g_in_len);
    if (n > 0)
        g_in_len += (size_t)n;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return -1;
    return n < 0 ? 0 : n;
}

/* Blocks (poll) until len body bytes are in buf; also services child exits while waiting. */
static int read_exact(unsigned char *buf, size_t len)
{
    size_t have = g_in_len < len ? g_in_len : len;
    memcpy(buf, g_in, have);
    memmove(g_in, g_in + have, g_in_len - have);
    g_in_len -= have;
    while (have < len) {
        ssize_t n = read(g_fd, buf + have, len - have);
        if (n > 0) {
            have += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return -1;
        struct pollfd pfd = { g_fd, POLLIN, 0 };
        poll(&pfd, 1, 1000);
    }
    return 0;
}

/* Parses and handles every complete frame in g_in. Returns -1 when the stream cannot be trusted any more. */
static int process_input(void)
{
    for (;;) {
        unsigned char *nl = memchr(g_in, '\n', g_in_len);
        if (!nl)
            return g_in_len >= MAX_HEADER ? -1 : 0;
        size_t hlen = (size_t)(nl - g_in);
        if (hlen >= MAX_HEADER)
            return -1;
        char hdr[MAX_HEADER];
        memcpy(hdr, g_in, hlen);
        hdr[hlen] = 0;
        memmove(g_in, nl + 1, g_in_len - hlen - 1);
        g_in_len -= hlen + 1;

        char *tok[260];
        int nt = 0;
        for (char *save, *t = strtok_r(hdr, " ", &save); t && nt < 260; t = strtok_r(NULL, " ", &save))
            tok[nt++] = t;
        if (nt < 4) {
            logmsg("bad frame header (%d fields)", nt);
            return -1;
        }
        char *end;
        long id = strtol(tok[2], &end, 10);
        if (*end)
            id = 0;
        unsigned long long len = strtoull(tok[3], &end, 10);
        if (*end || len > MAX_BODY) {
            logmsg("bad frame length '%s'", tok[3]);
            return -1;
        }
        unsigned char *body = malloc(len ? len : 1);
        if (!body || read_exact(body, len) < 0) {
            free(body);
            return -1;
        }
        if (strcmp(tok[0], "ODX1") != 0)
            reply_error(id, "bad-frame", "unsupported protocol '%s', this agent speaks ODX1", tok[0]);
        else
            handle(tok[1], id, tok + 4, nt - 4, body, len);
        free(body);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: odx-agent [--port NAME | --connect PATH | --vsock-listen PORT] [--work DIR]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int work_given = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            g_transport = T_PORT;
            g_port_name = argv[++i];
        } else if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc) {
            g_transport = T_CONNECT;
            g_connect_path = argv[++i];
        } else if (strcmp(argv[i], "--vsock-listen") == 0 && i + 1 < argc) {
            g_transport = T_VSOCK;
            g_vsock_port = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--work") == 0 && i + 1 < argc) {
            g_work = argv[++i];
            work_given = 1;
        } else {
            usage();
        }
    }
    if (getpid() != 1 && !work_given) {
        /* RESET empties the work directory: outside a guest or container of its own, name it explicitly */
        fprintf(stderr, "odx-agent: not PID 1: pass --work DIR (RESET deletes what is inside it)\n");
        return 2;
    }
    const char *env_port = getenv("ODX_PORT_NAME");
    if (env_port && g_transport == T_PORT)
        g_port_name = env_port;

    if (getpid() != 1)
        prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans of the program come back to us, as they do to PID 1 */
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    g_sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    mkdirs(STATE_DIR);
    chmod(STATE_DIR, 0700);
    mkdirs(g_work);

    for (;;) {
        g_fd = open_channel();
        if (g_fd < 0) {
            if (g_transport == T_PORT)
                return 1;
            sleep_ms(100);
            continue;
        }
        g_in_len = 0;
        int hup = 0;
        for (;;) {
            struct signalfd_siginfo si;
            if (!hup) {
                struct pollfd pfd[2] = { { g_fd, POLLIN, 0 }, { g_sigfd, POLLIN, 0 } };
                if (poll(pfd, 2, -1) < 0 && errno != EINTR)
                    break;
                while (read(g_sigfd, &si, sizeof si) == sizeof si) {
                }
                reap_all();
                if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
            } else {
                /* a virtio-serial port with no host connected reads end-of-file and polls as hung up: back off
                   (child exits still wake us) instead of spinning, then look at the port again */
                struct pollfd p = { g_sigfd, POLLIN, 0 };
                poll(&p, 1, 50);
                while (read(g_sigfd, &si, sizeof si) == sizeof si) {
                }
                reap_all();
            }
            ssize_t r = fill();
            if (r > 0) {
                hup = 0;
                if (process_input() < 0) {
                    logmsg("malformed input; closing the channel");
                    break;
                }
            } else if (r == 0) {
                if (g_transport != T_PORT)
                    break; /* the host closed the socket: reconnect (or accept the next connection) */
                hup = 1;
                g_in_len = 0;
            } else if (r == -2) {
                break;
            }
        }
        close(g_fd);
        g_fd = -1;
    }
}
