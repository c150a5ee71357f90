/*
 * ambit_net — the Linux socket calls Node.js does not offer, for the node tunnel and the
 * node agent. The TypeScript face is core/net/socket.ts and core/net/seqpacket.ts.
 *
 * Every function runs synchronously on the JavaScript thread. Failures throw an Error with
 * `syscall` and a positive `errno`; core/net/native.ts turns it into NativeCallError.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* From linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h, which clash with
 * glibc's netinet/in.h when included together. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

/* Limits of one SEQPACKET message; core/net/seqpacket.ts checks the same numbers on send. */
#define MAX_MESSAGE_BYTES 65536
#define MAX_MESSAGE_FDS 16

/* ---------------------------------------------------------------- errors and arguments */

/* Throws Error(`syscall: strerror`) with .syscall and .errno. Returns NULL for `return`. */
static napi_value make_errno_error(napi_env env, const char *syscall, int err) {
  char text[160];
  napi_value message, error, value;
  snprintf(text, sizeof text, "%s: %s", syscall, strerror(err));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "syscall", value);
  napi_create_int32(env, err, &value);
  napi_set_named_property(env, error, "errno", value);
  return error;
}

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  napi_throw(env, make_errno_error(env, syscall, err));
  return NULL;
}

/* Fetches exactly `count` arguments, or throws a TypeError. */
static bool get_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) {
    napi_throw_type_error(env, NULL, "ambit_net: missing arguments");
    return false;
  }
  return true;
}

static bool get_int(napi_env env, napi_value value, int32_t *out) {
  if (napi_get_value_int32(env, value, out) == napi_ok) return true;
  napi_throw_type_error(env, NULL, "ambit_net: expected an integer");
  return false;
}

static bool get_uint(napi_env env, napi_value value, uint32_t *out) {
  if (napi_get_value_uint32(env, value, out) == napi_ok) return true;
  napi_throw_type_error(env, NULL, "ambit_net: expected an unsigned integer");
  return false;
}

/* Copies a string argument. One that does not fit is refused as `syscall` would refuse it
 * (errno `err`), never truncated: a truncated address or path may be a different valid one. */
static bool get_string(napi_env env, napi_value value, char *out, size_t size,
                       const char *syscall, int err) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "ambit_net: expected a string");
    return false;
  }
  if (length >= size) {
    throw_errno(env, syscall, err);
    return false;
  }
  napi_get_value_string_utf8(env, value, out, size, &length);
  return true;
}

static napi_value make_int(napi_env env, int32_t n) {
  napi_value value;
  napi_create_int32(env, n, &value);
  return value;
}

/* -------------------------------------------------------------------- addresses */

/* Parses `text` (family 4 or 6) and `port` into a sockaddr; false (EINVAL) if malformed. */
static bool parse_address(int family, const char *text, int32_t port,
                          struct sockaddr_storage *out, socklen_t *length) {
  memset(out, 0, sizeof *out);
  if (port < 0 || port > 65535) return false;
  if (family == 4) {
    struct sockaddr_in *sin = (struct sockaddr_in *)out;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    *length = sizeof *sin;
    return inet_pton(AF_INET, text, &sin->sin_addr) == 1;
  }
  if (family == 6) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    *length = sizeof *sin6;
    return inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1;
  }
  return false;
}

/* { address, port, family } of an IPv4 or IPv6 sockaddr. An IPv4-mapped IPv6 address is
 * reported as the IPv4 address it carries, as Node does for dual-stack sockets. */
static napi_value address_object(napi_env env, const struct sockaddr_storage *ss) {
  char text[INET6_ADDRSTRLEN];
  int family, port;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
    family = 4;
    port = ntohs(sin->sin_port);
  } else {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
      inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], text, sizeof text);
      family = 4;
    } else {
      inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
      family = 6;
    }
    port = ntohs(sin6->sin6_port);
  }
  napi_value result, address;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &address);
  napi_set_named_property(env, result, "address", address);
  napi_set_named_property(env, result, "port", make_int(env, port));
  napi_set_named_property(env, result, "family", make_int(env, family));
  return result;
}

/* ------------------------------------------------------------ network namespaces */

/*
 * Makes a TCP socket inside the network namespace `netns_fd`. setns() moves only the
 * calling thread, and a socket stays in the namespace it was made in, so entering, making
 * and leaving happen in this one call on the JavaScript thread: nothing else runs on the
 * thread meanwhile and every other socket of the process is made where it always was.
 * Returns the fd, or -errno with *syscall naming the call that failed.
 */
static int tcp_socket_in_netns(int netns_fd, int family, const char **syscall) {
  int domain = family == 6 ? AF_INET6 : AF_INET;
  /* Opened first: without a way back we must not leave. */
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) {
    *syscall = "open";
    return -errno;
  }
  if (setns(netns_fd, CLONE_NEWNET) < 0) {
    int err = errno;
    close(home);
    *syscall = "setns";
    return -err;
  }
  int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int err = errno;
  if (setns(home, CLONE_NEWNET) < 0) {
    /* The JavaScript thread would stay in the pod's namespace and every later socket of the
     * process would silently be made there. There is no safe way to go on. */
    napi_fatal_error("ambit_net", NAPI_AUTO_LENGTH,
                     "setns back to the original network namespace failed",
                     NAPI_AUTO_LENGTH);
  }
  close(home);
  if (fd < 0) {
    *syscall = "socket";
    return -err;
  }
  return fd;
}

/* socketInNetns(netnsFd, family) → fd: nonblocking, close-on-exec, unbound. */
static napi_value socket_in_netns(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t netns_fd, family;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], &netns_fd) ||
      !get_int(env, argv[1], &family))
    return NULL;
  if (family != 4 && family != 6) return throw_errno(env, "socket", EAFNOSUPPORT);
  const char *syscall = NULL;
  int fd = tcp_socket_in_netns(netns_fd, family, &syscall);
  if (fd < 0) return throw_errno(env, syscall, -fd);
  return make_int(env, fd);
}

/* listenInNetns(netnsFd, family, address, port, backlog, v6only) → listening fd. Only
 * socket() needs the namespace; bind and listen act on the socket wherever it was made.
 * v6only (IPV6_V6ONLY) makes an IPv6 listener take IPv6 alone, so that it can share its
 * port with an IPv4 one; without it `::` also takes IPv4, as mapped addresses. */
static napi_value listen_in_netns(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int32_t netns_fd, family, port, backlog, v6only;
  char text[INET6_ADDRSTRLEN];
  if (!get_args(env, info, 6, argv) || !get_int(env, argv[0], &netns_fd) ||
      !get_int(env, argv[1], &family) ||
      !get_string(env, argv[2], text, sizeof text, "inet_pton", EINVAL) ||
      !get_int(env, argv[3], &port) || !get_int(env, argv[4], &backlog) ||
      !get_int(env, argv[5], &v6only))
    return NULL;
  struct sockaddr_storage ss;
  socklen_t length;
  if (!parse_address(family, text, port, &ss, &length))
    return throw_errno(env, "inet_pton", EINVAL);

  const char *syscall = NULL;
  int fd = tcp_socket_in_netns(netns_fd, family, &syscall);
  if (fd < 0) return throw_errno(env, syscall, -fd);
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      (family == 6 && v6only && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0))
    syscall = "setsockopt";
  else if (bind(fd, (struct sockaddr *)&ss, length) < 0)
    syscall = "bind";
  else if (listen(fd, backlog) < 0)
    syscall = "listen";
  else
    return make_int(env, fd);
  int err = errno;
  close(fd);
  return throw_errno(env, syscall, err);
}

/* ------------------------------------------------------------- socket options */

/* originalDst(fd) → { address, port, family }: the destination a connection had before an
 * iptables REDIRECT, from conntrack. The level and option follow the socket's family. */
static napi_value original_dst(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], &fd)) return NULL;
  struct sockaddr_storage local, original;
  socklen_t length = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &length) < 0)
    return throw_errno(env, "getsockname", errno);
  memset(&original, 0, sizeof original);
  length = sizeof original;
  const struct sockaddr_in6 *local6 = (const struct sockaddr_in6 *)&local;
  int rc;
  /* A dual-stack listener's IPv4 connection has an IPv4-mapped address and an IPv4
   * conntrack entry. */
  if (local.ss_family == AF_INET ||
      (local.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&local6->sin6_addr))) {
    rc = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &original, &length);
  } else if (local.ss_family == AF_INET6) {
    rc = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &original, &length);
  } else {
    return throw_errno(env, "getsockopt", EAFNOSUPPORT);
  }
  if (rc < 0) return throw_errno(env, "getsockopt", errno);
  return address_object(env, &original);
}

/* setMark(fd, mark): SO_MARK, which the capture rules match to let the tunnel's own
 * sockets through. */
static napi_value set_mark(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  uint32_t mark;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], &fd) ||
      !get_uint(env, argv[1], &mark))
    return NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0)
    return throw_errno(env, "setsockopt", errno);
  return NULL;
}

/* bindTransparent(fd, address, port): binds to an address this host does not own, so the
 * app sees the original client's address. TRANSPARENT allows the foreign source; FREEBIND
 * lets bind() accept an address no interface carries. */
static napi_value bind_transparent(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, port;
  char text[INET6_ADDRSTRLEN];
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &fd) ||
      !get_string(env, argv[1], text, sizeof text, "inet_pton", EINVAL) ||
      !get_int(env, argv[2], &port))
    return NULL;
  int domain;
  socklen_t length = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) < 0)
    return throw_errno(env, "getsockopt", errno);
  struct sockaddr_storage ss;
  if (!parse_address(domain == AF_INET6 ? 6 : 4, text, port, &ss, &length))
    return throw_errno(env, "inet_pton", EINVAL);
  int one = 1;
  int level = domain == AF_INET6 ? SOL_IPV6 : SOL_IP;
  int transparent = domain == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT;
  int freebind = domain == AF_INET6 ? IPV6_FREEBIND : IP_FREEBIND;
  if (setsockopt(fd, level, transparent, &one, sizeof one) < 0 ||
      setsockopt(fd, level, freebind, &one, sizeof one) < 0)
    return throw_errno(env, "setsockopt", errno);
  if (bind(fd, (struct sockaddr *)&ss, length) < 0) return throw_errno(env, "bind", errno);
  return NULL;
}

/* ------------------------------------------------------- SEQPACKET with SCM_RIGHTS */

static bool unix_address(napi_env env, napi_value value, struct sockaddr_un *sun) {
  memset(sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  return get_string(env, value, sun->sun_path, sizeof sun->sun_path, "bind", ENAMETOOLONG);
}

/* seqpacketListen(path) → listening fd. The caller removes a stale socket file first. */
static napi_value seqpacket_listen(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct sockaddr_un sun;
  if (!get_args(env, info, 1, argv) || !unix_address(env, argv[0], &sun)) return NULL;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  const char *syscall = "bind";
  if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
    syscall = "listen";
    if (listen(fd, SOMAXCONN) == 0) return make_int(env, fd);
  }
  int err = errno;
  close(fd);
  return throw_errno(env, syscall, err);
}

/* seqpacketConnect(path) → connected fd. A unix connect completes at once or fails; EAGAIN
 * (the listener's backlog is full) is for the caller to retry. */
static napi_value seqpacket_connect(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct sockaddr_un sun;
  if (!get_args(env, info, 1, argv) || !unix_address(env, argv[0], &sun)) return NULL;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) return make_int(env, fd);
  int err = errno;
  close(fd);
  return throw_errno(env, "connect", err);
}

/* seqpacketSend(fd, data: Uint8Array, fds: number[]): one message, all or nothing. The
 * kernel duplicates the passed fds into the receiver; the caller keeps its own. Never
 * blocks: a full peer queue is EAGAIN, a gone peer EPIPE (MSG_NOSIGNAL: no SIGPIPE). */
static napi_value seqpacket_send(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &fd)) return NULL;
  napi_typedarray_type type;
  size_t length;
  void *data;
  bool is_array = false;
  napi_is_typedarray(env, argv[1], &is_array);
  if (!is_array ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "ambit_net: expected a Uint8Array");
    return NULL;
  }
  uint32_t count;
  if (napi_get_array_length(env, argv[2], &count) != napi_ok || count > MAX_MESSAGE_FDS) {
    napi_throw_type_error(env, NULL, "ambit_net: expected an array of at most 16 fds");
    return NULL;
  }

  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * MAX_MESSAGE_FDS)];
  } control;
  struct iovec iov = {.iov_base = data, .iov_len = length};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (count > 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
    int *fds = (int *)CMSG_DATA(cmsg);
    for (uint32_t i = 0; i < count; i++) {
      napi_value element;
      napi_get_element(env, argv[2], i, &element);
      if (!get_int(env, element, &fds[i])) return NULL;
    }
  }
  if (sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) return throw_errno(env, "sendmsg", errno);
  return NULL;
}

/*
 * A poller watches one SEQPACKET fd (listening or connected) with a uv_poll_t on the Node
 * event loop and reports to one JavaScript callback: onEvent(kind, a, b). libuv runs the
 * poll callback on the loop thread, so it may call JavaScript directly (through
 * napi_make_callback, which also runs the microtasks and nextTicks the callback queued).
 *
 * Lifetime: the fd is closed exactly once, in poller_close. The struct is freed only when
 * both libuv has finished closing the handle and the JavaScript external that names it has
 * been collected, so a late pollClose() call from JavaScript never touches freed memory.
 */
enum event_kind { EVENT_CONNECTION = 0, EVENT_MESSAGE = 1, EVENT_END = 2, EVENT_ERROR = 3 };

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int fd;
  bool listening;
  bool closed;       /* pollClose ran: the fd is closed, no more events */
  bool handle_freed; /* libuv's close callback ran */
  bool external_freed;
} poller;

static void poller_free_if_unused(poller *p) {
  if (p->handle_freed && p->external_freed) free(p);
}

static void on_handle_closed(uv_handle_t *handle) {
  poller *p = handle->data;
  /* Here rather than in poller_close, which may run inside a callback of this context. */
  napi_handle_scope scope;
  napi_open_handle_scope(p->env, &scope);
  napi_async_destroy(p->env, p->async);
  napi_close_handle_scope(p->env, scope);
  p->handle_freed = true;
  poller_free_if_unused(p);
}

static void on_external_collected(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  poller *p = data;
  p->external_freed = true;
  poller_free_if_unused(p);
}

static void poller_close(poller *p) {
  if (p->closed) return;
  p->closed = true;
  /* uv_poll_stop also drops the fd from the events libuv has already fetched, so closing
   * the fd right away is safe and the peer sees the hang-up now, not a loop turn later. */
  uv_poll_stop(&p->handle);
  close(p->fd);
  uv_close((uv_handle_t *)&p->handle, on_handle_closed);
  /* The callback usually closes over the object that holds the external: dropping the
   * reference lets both be collected. */
  napi_delete_reference(p->env, p->callback);
}

/* Calls onEvent(kind, a, b); an exception it throws becomes an 'uncaughtException'. */
static void emit(poller *p, enum event_kind kind, napi_value a, napi_value b) {
  napi_env env = p->env;
  napi_value callback, receiver, undefined, result;
  napi_value argv[3] = {make_int(env, kind), a, b};
  napi_get_reference_value(env, p->callback, &callback);
  napi_get_global(env, &receiver); /* napi_make_callback wants an object as `this` */
  napi_get_undefined(env, &undefined);
  if (argv[1] == NULL) argv[1] = undefined;
  if (argv[2] == NULL) argv[2] = undefined;
  if (napi_make_callback(env, p->async, receiver, callback, 3, argv, &result) ==
      napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

/* Reports a failure the poller cannot continue after; JavaScript answers with pollClose. */
static void emit_fatal(poller *p, const char *syscall, int err) {
  uv_poll_stop(&p->handle); /* level-triggered: a persisting condition would spin */
  emit(p, EVENT_ERROR, make_errno_error(p->env, syscall, err), NULL);
}

static void accept_one(poller *p) {
  int fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    emit(p, EVENT_CONNECTION, make_int(p->env, fd), NULL);
    return;
  }
  /* Gone before accepted, or already taken: not the listener's failure. */
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) return;
  emit_fatal(p, "accept4", errno);
}

/* One message per wake-up: the poll is level-triggered, so libuv calls again while more
 * are queued, and other handles get their turn in between. */
static void receive_one(poller *p) {
  static _Thread_local unsigned char data[MAX_MESSAGE_BYTES];
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * MAX_MESSAGE_FDS)];
  } control;
  struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control.buf,
                       .msg_controllen = sizeof control.buf};
  /* MSG_CMSG_CLOEXEC: a received netns fd must not leak into processes we spawn. */
  ssize_t n = recvmsg(p->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    emit_fatal(p, "recvmsg", errno);
    return;
  }

  int fds[MAX_MESSAGE_FDS];
  size_t nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count && nfds < MAX_MESSAGE_FDS; i++)
      memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    /* Part of the message is lost: the peer broke the protocol's limits. */
    for (size_t i = 0; i < nfds; i++) close(fds[i]);
    emit_fatal(p, "recvmsg", EMSGSIZE);
    return;
  }
  /* A read of nothing is the peer's hang-up. (An empty message reads the same, which is why
   * send refuses empty messages.) */
  if (n == 0 && nfds == 0) {
    uv_poll_stop(&p->handle);
    emit(p, EVENT_END, NULL, NULL);
    return;
  }

  napi_env env = p->env;
  napi_value buffer, array;
  void *copy;
  napi_create_buffer_copy(env, (size_t)n, data, &copy, &buffer);
  napi_create_array_with_length(env, nfds, &array);
  for (size_t i = 0; i < nfds; i++) napi_set_element(env, array, i, make_int(env, fds[i]));
  emit(p, EVENT_MESSAGE, buffer, array);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  (void)events;
  poller *p = handle->data;
  if (p->closed) return;
  napi_handle_scope scope;
  napi_open_handle_scope(p->env, &scope);
  if (status < 0)
    emit_fatal(p, "poll", -status); /* libuv errors are negated errno values on Linux */
  else if (p->listening)
    accept_one(p);
  else
    receive_one(p);
  napi_close_handle_scope(p->env, scope);
}

/* pollStart(fd, listening, onEvent) → handle. On failure the fd stays the caller's. */
static napi_value poll_start(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  bool listening;
  napi_valuetype type;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], &fd)) return NULL;
  if (napi_get_value_bool(env, argv[1], &listening) != napi_ok ||
      napi_typeof(env, argv[2], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "ambit_net: expected (fd, boolean, function)");
    return NULL;
  }
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  poller *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_errno(env, "calloc", ENOMEM);
  int rc = uv_poll_init(loop, &p->handle, fd);
  if (rc < 0) {
    free(p); /* uv_poll_init fails before registering the handle with the loop */
    return throw_errno(env, "poll", -rc);
  }
  p->handle.data = p;
  p->env = env;
  p->fd = fd;
  p->listening = listening;
  napi_value name, external;
  napi_create_string_utf8(env, "AmbitSeqpacket", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &p->async);
  napi_create_reference(env, argv[2], 1, &p->callback);
  /* UV_DISCONNECT: wake on the peer's hang-up even when no data is pending. */
  uv_poll_start(&p->handle, listening ? UV_READABLE : UV_READABLE | UV_DISCONNECT, on_poll);
  napi_create_external(env, p, on_external_collected, NULL, &external);
  return external;
}

/* pollClose(handle): stops watching and closes the fd; later calls do nothing. */
static napi_value poll_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  void *data;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "ambit_net: expected a poll handle");
    return NULL;
  }
  poller_close(data);
  return NULL;
}

/* ------------------------------------------------------------------------ module */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"socketInNetns", NULL, socket_in_netns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"listenInNetns", NULL, listen_in_netns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"originalDst", NULL, original_dst, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setMark", NULL, set_mark, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bindTransparent", NULL, bind_transparent, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seqpacketListen", NULL, seqpacket_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seqpacketConnect", NULL, seqpacket_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seqpacketSend", NULL, seqpacket_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollStart", NULL, poll_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollClose", NULL, poll_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
