/*
 * The C surface of libev that greenkit.loop.libev uses, as cffi reads it
 * (cdef).  Values written "..." are filled in by the C compiler from the
 * real <ev.h>, so nothing here hard-codes libev's ABI.
 */

#define EV_UNDEF ...
#define EV_NONE ...
#define EV_READ ...
#define EV_WRITE ...
#define EV__IOFDSET ...
#define EV_TIMER ...
#define EV_PERIODIC ...
#define EV_SIGNAL ...
#define EV_CHILD ...
#define EV_STAT ...
#define EV_IDLE ...
#define EV_PREPARE ...
#define EV_CHECK ...
#define EV_EMBED ...
#define EV_FORK ...
#define EV_CLEANUP ...
#define EV_ASYNC ...
#define EV_CUSTOM ...
#define EV_ERROR ...
#define EV_MINPRI ...
#define EV_MAXPRI ...

#define EVFLAG_AUTO ...
#define EVFLAG_NOENV ...
#define EVFLAG_FORKCHECK ...
#define EVFLAG_NOINOTIFY ...
#define EVFLAG_SIGNALFD ...
#define EVFLAG_NOSIGMASK ...
#define EVFLAG_NOTIMERFD ...

#define EVBACKEND_SELECT ...
#define EVBACKEND_POLL ...
#define EVBACKEND_EPOLL ...
#define EVBACKEND_KQUEUE ...
#define EVBACKEND_DEVPOLL ...
#define EVBACKEND_PORT ...
#define EVBACKEND_LINUXAIO ...
#define EVBACKEND_IOURING ...
#define EVBACKEND_ALL ...
#define EVBACKEND_MASK ...

#define EVRUN_NOWAIT ...
#define EVRUN_ONCE ...
#define EVBREAK_CANCEL ...
#define EVBREAK_ONE ...
#define EVBREAK_ALL ...

typedef double ev_tstamp;
struct ev_loop;

/* Only the members Python reads; "..." lets the compiler place them.
 * (`priority` exists because libev is built with priorities, EV_MINPRI < EV_MAXPRI.) */
struct ev_watcher { int active; int pending; int priority; void *data; ...; };
struct gk_io { int active; int pending; int priority; void *data; int fd; int events; ...; };
struct ev_timer { int active; int pending; int priority; void *data; ev_tstamp at; ev_tstamp repeat; ...; };
struct ev_signal { int active; int pending; int priority; void *data; int signum; ...; };
struct ev_child { int active; int pending; int priority; void *data; int pid; int rpid; int rstatus; ...; };
typedef int... dev_t;
typedef int... ino_t;
typedef int... mode_t;
typedef int... nlink_t;
typedef int... uid_t;
typedef int... gid_t;
typedef int... off_t;
typedef int... time_t;
struct stat { dev_t st_dev; ino_t st_ino; mode_t st_mode; nlink_t st_nlink;
              uid_t st_uid; gid_t st_gid; off_t st_size;
              time_t st_atime; time_t st_mtime; time_t st_ctime; ...; };
struct ev_stat {
    int active; int pending; int priority; void *data;
    ev_tstamp interval; const char *path;
    struct stat attr; struct stat prev; ...;
};
struct ev_idle { int active; int pending; int priority; void *data; ...; };
struct ev_prepare { int active; int pending; int priority; void *data; ...; };
struct ev_check { int active; int pending; int priority; void *data; ...; };
struct ev_fork { int active; int pending; int priority; void *data; ...; };
struct ev_async { int active; int pending; int priority; void *data; ...; };

/* libev, as documented in its manual */
int ev_version_major(void);
int ev_version_minor(void);
unsigned int ev_supported_backends(void);
unsigned int ev_recommended_backends(void);
unsigned int ev_embeddable_backends(void);
ev_tstamp ev_time(void);
void ev_sleep(ev_tstamp delay);

struct ev_loop *ev_loop_new(unsigned int flags);
void ev_loop_destroy(struct ev_loop *);
void ev_loop_fork(struct ev_loop *);
int ev_is_default_loop(struct ev_loop *);
unsigned int ev_backend(struct ev_loop *);
ev_tstamp ev_now(struct ev_loop *);
void ev_now_update(struct ev_loop *);
int ev_run(struct ev_loop *, int flags);
void ev_break(struct ev_loop *, int how);
void ev_ref(struct ev_loop *);
void ev_unref(struct ev_loop *);
unsigned int ev_iteration(struct ev_loop *);
unsigned int ev_depth(struct ev_loop *);
void ev_verify(struct ev_loop *);
unsigned int ev_pending_count(struct ev_loop *);
void ev_feed_event(struct ev_loop *, void *w, int revents);
void ev_feed_fd_event(struct ev_loop *, int fd, int revents);
void ev_feed_signal_event(struct ev_loop *, int signum);

void ev_timer_start(struct ev_loop *, struct ev_timer *);
void ev_timer_stop(struct ev_loop *, struct ev_timer *);
void ev_timer_again(struct ev_loop *, struct ev_timer *);
ev_tstamp ev_timer_remaining(struct ev_loop *, struct ev_timer *);
void ev_signal_start(struct ev_loop *, struct ev_signal *);
void ev_signal_stop(struct ev_loop *, struct ev_signal *);
void ev_child_start(struct ev_loop *, struct ev_child *);
void ev_child_stop(struct ev_loop *, struct ev_child *);
void ev_stat_start(struct ev_loop *, struct ev_stat *);
void ev_stat_stop(struct ev_loop *, struct ev_stat *);
void ev_stat_stat(struct ev_loop *, struct ev_stat *);
void ev_idle_start(struct ev_loop *, struct ev_idle *);
void ev_idle_stop(struct ev_loop *, struct ev_idle *);
void ev_prepare_start(struct ev_loop *, struct ev_prepare *);
void ev_prepare_stop(struct ev_loop *, struct ev_prepare *);
void ev_check_start(struct ev_loop *, struct ev_check *);
void ev_check_stop(struct ev_loop *, struct ev_check *);
void ev_fork_start(struct ev_loop *, struct ev_fork *);
void ev_fork_stop(struct ev_loop *, struct ev_fork *);
void ev_async_start(struct ev_loop *, struct ev_async *);
void ev_async_stop(struct ev_loop *, struct ev_async *);
void ev_async_send(struct ev_loop *, struct ev_async *);

/* greenkit's C helpers (_corecffi_source.c) */
struct ev_loop *gk_default_loop(unsigned int flags);
int gk_fd_error(int fd);
#define GK_DEFAULT_PRIORITY ...
void gk_io_init(struct gk_io *w, void *handle, int priority, int fd, int events);
void gk_io_set(struct gk_io *w, int fd, int events);
int gk_io_start(struct ev_loop *loop, struct gk_io *w);
void gk_io_stop(struct ev_loop *loop, struct gk_io *w);
void gk_loop_destroy(struct ev_loop *loop);
void gk_arm_prepare(struct ev_loop *loop, struct ev_prepare *prepare);
void gk_arm_callbacks(struct ev_loop *loop, struct ev_prepare *prepare, struct ev_idle *idle);
void gk_disarm_prepare(struct ev_loop *loop, struct ev_prepare *prepare);
void gk_timer_init(struct ev_timer *w, void *handle, int priority, ev_tstamp after,
                   ev_tstamp repeat);
void gk_timer_start_now(struct ev_loop *loop, struct ev_timer *w);
void gk_timer_set(struct ev_timer *w, ev_tstamp after, ev_tstamp repeat);
#define GK_BUSY ...
#define GK_BAD_PRIORITY ...
int gk_timer_restart(struct ev_loop *loop, struct ev_timer *w, ev_tstamp after, int priority,
                     int ref, int update);
int gk_timer_stop(struct ev_loop *loop, struct ev_timer *w, int give_ref_back);
void gk_signal_init(struct ev_signal *w, void *handle, int priority, int signum);
void gk_child_init(struct ev_child *w, void *handle, int priority, int pid, int trace);
void gk_stat_init(struct ev_stat *w, void *handle, int priority, const char *path,
                  ev_tstamp interval);
void gk_idle_init(struct ev_idle *w, void *handle, int priority);
void gk_prepare_init(struct ev_prepare *w, void *handle, int priority);
void gk_check_init(struct ev_check *w, void *handle, int priority);
void gk_fork_init(struct ev_fork *w, void *handle, int priority);
void gk_async_init(struct ev_async *w, void *handle, int priority);
int gk_async_pending(struct ev_async *w);
int gk_install_sigchld(void);
int gk_restore_sigchld(void);
int gk_syserr_take(char *buf, int size);

/* C -> Python: every watcher fires through this one entry point. */
extern "Python" void _gk_watcher_fired(void *handle, int revents);
extern "Python" void _gk_syserr(void);
