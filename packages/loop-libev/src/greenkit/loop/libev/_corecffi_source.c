/*
 * C side of greenkit.loop.libev's cffi module (the set_source body).
 *
 * Every watcher is initialised with the same C callback, gk_fire(), which
 * hands the watcher's `data` (a cffi handle to the Python watcher) and the
 * received events to Python through one `extern "Python"` entry point.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <ev.h>

/* extern "Python" functions need a forward declaration when C calls them. */
static void _gk_watcher_fired(void *handle, int revents);
static void _gk_syserr(void);

static void gk_fire(struct ev_loop *loop, ev_watcher *w, int revents)
{
    (void)loop;
    _gk_watcher_fired(w->data, revents);
}

#define GK_CB(type) ((void (*)(struct ev_loop *, type *, int))gk_fire)

/* ---- system errors libev cannot recover from by itself ---------------- */

static char gk_syserr_msg[256];
static int gk_syserr_errno;
static volatile int gk_syserr_pending;

static void gk_on_syserr(const char *msg)
{
    gk_syserr_errno = errno;
    strncpy(gk_syserr_msg, msg ? msg : "(libev) unknown system error",
            sizeof(gk_syserr_msg) - 1);
    gk_syserr_msg[sizeof(gk_syserr_msg) - 1] = '\0';
    gk_syserr_pending = 1;
    _gk_syserr();
}

/* Copy the last system error message into buf; return its errno (0: none). */
static int gk_syserr_take(char *buf, int size)
{
    if (!gk_syserr_pending || size <= 0)
        return 0;
    strncpy(buf, gk_syserr_msg, (size_t)size - 1);
    buf[size - 1] = '\0';
    gk_syserr_pending = 0;
    return gk_syserr_errno ? gk_syserr_errno : EIO;
}

/* ---- the default loop and SIGCHLD ---------------------------------------- */

/*
 * ev_default_loop() installs libev's own SIGCHLD handler, which reaps every
 * child of the process.  Put back whatever disposition was there, so that
 * plain subprocess code keeps working; gk_install_sigchld() hands SIGCHLD
 * to libev only while child watchers need it.
 */
static struct ev_loop *gk_default_loop(unsigned int flags)
{
    struct sigaction before;
    struct ev_loop *loop;

    ev_set_syserr_cb(gk_on_syserr);
    sigaction(SIGCHLD, NULL, &before);
    loop = ev_default_loop(flags);
    sigaction(SIGCHLD, &before, NULL);
    return loop;
}

/*
 * Destroying the default loop stops libev's internal SIGCHLD watcher, and
 * libev then resets SIGCHLD to SIG_DFL: keep whatever disposition was there.
 */
static void gk_loop_destroy(struct ev_loop *loop)
{
    struct sigaction before;
    int is_default = ev_is_default_loop(loop);

    if (is_default)
        sigaction(SIGCHLD, NULL, &before);
    ev_loop_destroy(loop);
    if (is_default)
        sigaction(SIGCHLD, &before, NULL);
}

/*
 * While libev has SIGCHLD, the disposition found when it took it still gets
 * the signal: the handler calls it after feeding libev.  So a handler set
 * through Python's signal module keeps running, and Python keeps writing
 * the signal number to its wakeup fd (signal.set_wakeup_fd).  Two slots,
 * swapped by pointer, so that a handler running in another thread never
 * reads a half-written disposition.
 */
static struct sigaction gk_sigchld_slots[2];
static struct sigaction *volatile gk_sigchld_next;
static int gk_sigchld_installed;

static void gk_sigchld_handler(int signum, siginfo_t *info, void *context)
{
    int saved_errno = errno;
    const struct sigaction *next = gk_sigchld_next;

    ev_feed_signal(signum);
    if (next != NULL) {
        if (next->sa_flags & SA_SIGINFO) {
            if (next->sa_sigaction != NULL)
                next->sa_sigaction(signum, info, context);
        }
        else if (next->sa_handler != SIG_DFL && next->sa_handler != SIG_IGN) {
            next->sa_handler(signum);
        }
    }
    errno = saved_errno;
}

static int gk_sigchld_is_ours(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == gk_sigchld_handler;
}

/*
 * Route SIGCHLD to the default loop; return 0 or an errno.  When SIGCHLD is
 * routed already but someone replaced the handler since (signal.signal),
 * route it again, passing the signal on to their handler; a SIGCHLD that
 * only reached theirs meanwhile is fed to libev, which then looks for
 * exited children.
 */
static int gk_install_sigchld(void)
{
    struct sigaction sa, current;
    struct sigaction *slot;

    if (gk_sigchld_installed) {
        if (sigaction(SIGCHLD, NULL, &current) < 0)
            return errno;
        if (gk_sigchld_is_ours(&current))
            return 0;
    }
    slot = gk_sigchld_next == &gk_sigchld_slots[0] ? &gk_sigchld_slots[1]
                                                    : &gk_sigchld_slots[0];
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = gk_sigchld_handler;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    if (sigaction(SIGCHLD, &sa, slot) < 0)
        return errno;
    gk_sigchld_next = slot;
    if (gk_sigchld_installed)
        ev_feed_signal(SIGCHLD);
    gk_sigchld_installed = 1;
    return 0;
}

/* Put back the SIGCHLD disposition found by gk_install_sigchld(), unless
 * someone replaced the handler since: theirs stays. */
static int gk_restore_sigchld(void)
{
    struct sigaction current;

    if (!gk_sigchld_installed)
        return 0;
    gk_sigchld_installed = 0;
    if (sigaction(SIGCHLD, NULL, &current) < 0)
        return errno;
    if (gk_sigchld_is_ours(&current) && sigaction(SIGCHLD, gk_sigchld_next, NULL) < 0)
        return errno;
    return 0;
}

/* ---- small wrappers over libev's macros ------------------------------------ */

static int gk_fd_error(int fd)
{
    return fcntl(fd, F_GETFD) == -1 ? errno : 0;
}

/* Every gk_*_init() initialises a watcher, points its data at the Python
 * object's handle and sets its priority (GK_DEFAULT_PRIORITY: leave it),
 * in one call: each cffi call releases and retakes the GIL. */
#define GK_DEFAULT_PRIORITY (-1000)

static void gk_attach(void *w, void *handle, int priority)
{
    ((ev_watcher *)w)->data = handle;
    if (priority != GK_DEFAULT_PRIORITY)
        ev_set_priority((ev_watcher *)w, priority);
}

/*
 * greenkit's io watcher: libev's ev_io (the same fields, laid out by the same
 * macros, so libev takes it as one) and the loop iteration, plus one, in
 * which it was last stopped while active (0: not since its fd was set).
 *
 * Starting checks the fd first, since libev asserts -- aborts the process --
 * when epoll rejects an fd.  The check is a syscall per wait, and it is
 * skipped for the commonest wait of all: a watcher restarted in the loop
 * iteration that stopped it (a greenlet woken by its socket reads, finds no
 * more data and waits again).  libev only hands an fd to epoll when it
 * reifies the fd's changes, once per iteration before polling; the
 * iteration count moves on right after that, so no reify happened between
 * such a stop and start, the fd's event mask is back to what epoll already
 * has, and libev makes no epoll call for it.  (The fd was good when the
 * watcher was last started.)
 */
struct gk_io {
    EV_WATCHER_LIST(gk_io)
    int fd;
    int events;
    unsigned int stopped_in;
};

_Static_assert(offsetof(struct gk_io, next) == offsetof(struct ev_io, next)
                   && offsetof(struct gk_io, fd) == offsetof(struct ev_io, fd)
                   && offsetof(struct gk_io, events) == offsetof(struct ev_io, events)
                   && offsetof(struct gk_io, stopped_in) >= sizeof(struct ev_io),
               "struct gk_io must begin like struct ev_io");

static void gk_io_init(struct gk_io *w, void *handle, int priority, int fd, int events)
{
    ev_io_init((struct ev_io *)w, GK_CB(struct ev_io), fd, events);
    w->stopped_in = 0;
    gk_attach(w, handle, priority);
}

static void gk_io_set(struct gk_io *w, int fd, int events)
{
    ev_io_set((struct ev_io *)w, fd, events);
    w->stopped_in = 0;
}

/* Start an io watcher if its fd is open; return 0 or an errno. */
static int gk_io_start(struct ev_loop *loop, struct gk_io *w)
{
    unsigned int now = ev_iteration(loop) + 1;

    if ((w->stopped_in != now || now == 0) && fcntl(w->fd, F_GETFD) == -1)
        return errno;
    ev_io_start(loop, (struct ev_io *)w);
    return 0;
}

static void gk_io_stop(struct ev_loop *loop, struct gk_io *w)
{
    if (ev_is_active(w))
        w->stopped_in = ev_iteration(loop) + 1;
    ev_io_stop(loop, (struct ev_io *)w);
}

/*
 * The loop's prepare hook (it runs queued callbacks, deferred timers and
 * missed fork watchers before each poll) is started only while it has work:
 * each run costs a call into Python.  Like the other hooks it never keeps
 * the loop alive, so its loop reference is given away while it runs.
 * gk_arm_callbacks() also starts the idle hook, which keeps the poll from
 * blocking while callbacks wait.
 */
static void gk_arm_prepare(struct ev_loop *loop, struct ev_prepare *prepare)
{
    if (!ev_is_active(prepare)) {
        ev_prepare_start(loop, prepare);
        ev_unref(loop);
    }
}

static void gk_arm_callbacks(struct ev_loop *loop, struct ev_prepare *prepare,
                             struct ev_idle *idle)
{
    gk_arm_prepare(loop, prepare);
    ev_idle_start(loop, idle);
}

static void gk_disarm_prepare(struct ev_loop *loop, struct ev_prepare *prepare)
{
    if (ev_is_active(prepare)) {
        ev_ref(loop);
        ev_prepare_stop(loop, prepare);
    }
}

static void gk_timer_init(struct ev_timer *w, void *handle, int priority,
                          ev_tstamp after, ev_tstamp repeat)
{
    ev_timer_init(w, GK_CB(struct ev_timer), after, repeat);
    gk_attach(w, handle, priority);
}

static void gk_timer_set(struct ev_timer *w, ev_tstamp after, ev_tstamp repeat)
{
    ev_timer_set(w, after, repeat);
}

/* Refresh the loop's clock, then start: the delay counts from now. */
static void gk_timer_start_now(struct ev_loop *loop, struct ev_timer *w)
{
    ev_now_update(loop);
    ev_timer_start(loop, w);
}

/*
 * Reuse a stopped timer in one call (the hub's pool of timers does this for
 * every sleep() and Timeout): give it a new one-shot delay and priority,
 * optionally refresh the loop's clock, start it, and drop the loop reference
 * an unref'd watcher must not hold.  Returns 0, GK_BUSY if the timer is
 * active or pending (libev forbids changing it then), or GK_BAD_PRIORITY.
 */
#define GK_BUSY 1
#define GK_BAD_PRIORITY 2

static int gk_timer_restart(struct ev_loop *loop, struct ev_timer *w, ev_tstamp after,
                            int priority, int ref, int update)
{
    if (ev_is_active(w) || ev_is_pending(w))
        return GK_BUSY;
    if (priority < EV_MINPRI || priority > EV_MAXPRI)
        return GK_BAD_PRIORITY;
    ev_timer_set(w, after, 0.);
    ev_set_priority(w, priority);
    if (update)
        ev_now_update(loop);
    ev_timer_start(loop, w);
    if (!ref)
        ev_unref(loop);
    return 0;
}

/*
 * Stop a timer (forgetting a pending event); `give_ref_back`: first return
 * the loop reference an unreferenced timer lent (see watcher.py).  Returns
 * whether the timer was active.
 */
static int gk_timer_stop(struct ev_loop *loop, struct ev_timer *w, int give_ref_back)
{
    int was_active = ev_is_active(w);

    if (give_ref_back)
        ev_ref(loop);
    if (was_active || ev_is_pending(w))
        ev_timer_stop(loop, w);
    return was_active;
}

static void gk_signal_init(struct ev_signal *w, void *handle, int priority, int signum)
{
    ev_signal_init(w, GK_CB(struct ev_signal), signum);
    gk_attach(w, handle, priority);
}

static void gk_child_init(struct ev_child *w, void *handle, int priority, int pid, int trace)
{
    ev_child_init(w, GK_CB(struct ev_child), pid, trace);
    gk_attach(w, handle, priority);
}

static void gk_stat_init(struct ev_stat *w, void *handle, int priority,
                         const char *path, ev_tstamp interval)
{
    ev_stat_init(w, GK_CB(struct ev_stat), path, interval);
    gk_attach(w, handle, priority);
}

static void gk_idle_init(struct ev_idle *w, void *handle, int priority)
{
    ev_idle_init(w, GK_CB(struct ev_idle));
    gk_attach(w, handle, priority);
}
static void gk_prepare_init(struct ev_prepare *w, void *handle, int priority)
{
    ev_prepare_init(w, GK_CB(struct ev_prepare));
    gk_attach(w, handle, priority);
}
static void gk_check_init(struct ev_check *w, void *handle, int priority)
{
    ev_check_init(w, GK_CB(struct ev_check));
    gk_attach(w, handle, priority);
}
static void gk_fork_init(struct ev_fork *w, void *handle, int priority)
{
    ev_fork_init(w, GK_CB(struct ev_fork));
    gk_attach(w, handle, priority);
}
static void gk_async_init(struct ev_async *w, void *handle, int priority)
{
    ev_async_init(w, GK_CB(struct ev_async));
    gk_attach(w, handle, priority);
}
static int gk_async_pending(struct ev_async *w) { return ev_async_pending(w); }
