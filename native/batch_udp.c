/*
 * A UDP socket that moves datagrams in batches: recvmmsg() takes up to
 * `batch` datagrams into one preallocated buffer, JavaScript is called once
 * for all of them, and one sendmmsg() sends the replies it wrote.
 *
 * Why: node:dgram costs one JS callback, one Buffer, one send wrap and one
 * sendto() per datagram, ~8.5 us here even for a server that answers every
 * packet with the same bytes. A UDP tracker answers tiny requests, so that
 * fixed cost is most of its work. Batching pays it once per batch.
 *
 * The contract with JavaScript (src/net/batch-udp.ts), all memory allocated
 * once at open() as ArrayBuffers that both sides keep views on:
 *
 *   rx     batch x rx_slot bytes: datagram i at i * rx_slot (at most rx_slot
 *          bytes of it; a longer one is cut, and info says its real length)
 *   info   batch x INFO_WORDS uint32 (host order) per datagram:
 *            [0] real length   [1] source port   [2] family: 4, 6 or 0 (other)
 *            [3] IPv4 address as a number (family 4, also for ::ffff:a.b.c.d)
 *            [4..7] the 16 bytes of the IPv6 address, as on the wire
 *   tx     batch x tx_slot bytes: the reply to datagram i at i * tx_slot
 *   reply  batch int32: the length of reply i, 0 for none (zeroed before
 *          each call; anything outside 0..tx_slot is ignored and counted)
 *
 * A reply always goes back to the address its datagram came from, so no
 * address crosses from JavaScript to C.
 *
 * The socket is non-blocking and watched by a uv_poll_t on Node's own loop:
 * the process stays an ordinary Node process, timers and HTTP run between
 * batches. One wakeup drains at most MAX_ROUNDS batches, then yields to the
 * loop (epoll is level-triggered: what is left wakes it again). If the
 * kernel's send buffer is full, the unsent replies wait for the socket to
 * become writable, and no datagram is read meanwhile (the receive queue
 * holds them), so the tx buffer is never overwritten before it is sent.
 *
 * Lifetime: while open, the handle object is strongly referenced from here,
 * like any active libuv handle. close() stops the poll at once (no callback
 * after it), the fd is closed when libuv has closed the handle, and the
 * struct is freed when both that has happened and the handle object was
 * garbage collected. An environment that is torn down (a worker thread
 * ending, the process exiting) closes the socket through an async cleanup
 * hook without calling into JavaScript.
 *
 * Linux only (recvmmsg/sendmmsg); elsewhere the build is skipped and
 * peerkit uses node:dgram.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define INFO_WORDS 8
/* Batches drained per wakeup before yielding to the rest of the loop. */
#define MAX_ROUNDS 16

typedef struct {
  double received;   /* datagrams handed to JavaScript */
  double batches;    /* calls into JavaScript */
  double sent;       /* replies the kernel took */
  double send_errors;/* replies dropped by an error of their own (EPERM, ENETUNREACH, ...) */
  double truncated;  /* datagrams longer than rx_slot */
  double bad_replies;/* reply lengths outside 0..tx_slot */
  double recv_errors;/* recvmmsg failures other than "nothing left" */
  int last_errno;    /* of the last send or receive error */
} counters;

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int polling; /* the uv_poll events currently watched */
  uint32_t batch, rx_slot, tx_slot;
  uint8_t *rx, *tx;
  uint32_t *info;
  int32_t *reply;
  struct mmsghdr *rmsg;
  struct iovec *riov;
  struct sockaddr_storage *names;
  struct mmsghdr *smsg;
  struct iovec *siov;
  uint32_t send_at, send_count; /* smsg[send_at..send_count) still to send */
  napi_ref self, on_batch, on_close, buffers[4];
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
  bool closing, closed, finalized, tearing_down;
  counters stats;
} bsock;

static void on_poll(uv_poll_t *handle, int status, int events);

/* ---- errors ------------------------------------------------------------ */

/* Throw an Error shaped like Node's system errors: code, errno, syscall, address, port. */
static void throw_system(napi_env env, const char *syscall, int err, const char *host, int port) {
  char message[160];
  const char *code = uv_err_name(-err);
  snprintf(message, sizeof message, "%s %s %s:%d", syscall, code, host, port);
  napi_value e, msg, code_v, v;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v);
  napi_create_error(env, code_v, msg, &e);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  napi_create_string_utf8(env, host, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "address", v);
  napi_create_int32(env, port, &v);
  napi_set_named_property(env, e, "port", v);
  napi_throw(env, e);
}

/* An exception thrown by a callback we made from the loop: Node's uncaughtException path. */
static void rethrow_pending(napi_env env, napi_status status) {
  if (status != napi_pending_exception) return;
  napi_value e;
  if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
}

/* ---- closing and freeing ----------------------------------------------- */

static void free_bsock(bsock *b) {
  free(b->rmsg);
  free(b->riov);
  free(b->names);
  free(b->smsg);
  free(b->siov);
  free(b);
}

static void on_closed(uv_handle_t *handle) {
  bsock *b = handle->data;
  close(b->fd);
  b->fd = -1;
  b->closed = true;
  if (b->cleanup != NULL) {
    napi_remove_async_cleanup_hook(b->cleanup);
    b->cleanup = NULL;
  }
  /* While the environment is going away, JavaScript and references are off limits. */
  if (!b->tearing_down) {
    napi_env env = b->env;
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    if (b->on_close != NULL) {
      napi_value fn, self, result;
      napi_get_reference_value(env, b->on_close, &fn);
      napi_get_reference_value(env, b->self, &self);
      rethrow_pending(env, napi_make_callback(env, b->async, self, fn, 0, NULL, &result));
      napi_delete_reference(env, b->on_close);
      b->on_close = NULL;
    }
    napi_close_handle_scope(env, scope);
    napi_async_destroy(env, b->async);
    napi_delete_reference(env, b->on_batch);
    for (int i = 0; i < 4; i++) napi_delete_reference(env, b->buffers[i]);
    /* Last: from here on the handle object may be collected, which frees b. */
    napi_delete_reference(env, b->self);
  }
  if (b->finalized) free_bsock(b);
}

static void start_close(bsock *b) {
  if (b->closing) return;
  b->closing = true;
  uv_poll_stop(&b->poll);
  uv_close((uv_handle_t *)&b->poll, on_closed);
}

static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  bsock *b = arg;
  b->tearing_down = true;
  start_close(b); /* on_closed removes the hook, which tells Node we are done */
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  bsock *b = data;
  b->finalized = true;
  if (b->closed) {
    free_bsock(b);
    return;
  }
  /* Only at teardown: while open, b->self keeps the object alive. */
  b->tearing_down = true;
  start_close(b);
}

/* ---- the data path ------------------------------------------------------ */

static void set_poll(bsock *b, int events) {
  if (b->polling == events) return;
  b->polling = events;
  uv_poll_start(&b->poll, events, on_poll);
}

/*
 * Send smsg[send_at..send_count). false when the kernel's buffer is full
 * (the rest waits for writability). A datagram the kernel refuses for a
 * reason of its own is dropped and counted, as the network may drop any.
 */
static bool flush(bsock *b) {
  while (b->send_at < b->send_count) {
    int r = sendmmsg(b->fd, b->smsg + b->send_at, b->send_count - b->send_at, MSG_DONTWAIT);
    if (r > 0) {
      b->send_at += (uint32_t)r;
      b->stats.sent += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    b->stats.send_errors++;
    b->stats.last_errno = r < 0 ? errno : 0;
    b->send_at++;
  }
  b->send_at = b->send_count = 0;
  return true;
}

/* Fill info[] for datagram i from what recvmmsg wrote. */
static void describe(bsock *b, uint32_t i) {
  uint32_t *w = b->info + (size_t)i * INFO_WORDS;
  const struct sockaddr_storage *ss = &b->names[i];
  w[0] = b->rmsg[i].msg_len;
  if (b->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) b->stats.truncated++;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
    w[1] = ntohs(s->sin_port);
    w[2] = 4;
    w[3] = ntohl(s->sin_addr.s_addr);
    memset(w + 4, 0, 16);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
    w[1] = ntohs(s->sin6_port);
    memcpy(w + 4, &s->sin6_addr, 16);
    if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
      uint32_t v4;
      memcpy(&v4, s->sin6_addr.s6_addr + 12, 4);
      w[2] = 4;
      w[3] = ntohl(v4);
    } else {
      w[2] = 6;
      w[3] = 0;
    }
  } else {
    w[1] = w[2] = w[3] = 0;
    memset(w + 4, 0, 16);
  }
}

/* Call onBatch(count) with the datagrams in place; false if it threw. */
static bool call_js(bsock *b, uint32_t count) {
  napi_env env = b->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value fn, self, argv[1], result;
  napi_get_reference_value(env, b->on_batch, &fn);
  napi_get_reference_value(env, b->self, &self);
  napi_create_uint32(env, count, &argv[0]);
  napi_status status = napi_make_callback(env, b->async, self, fn, 1, argv, &result);
  rethrow_pending(env, status);
  napi_close_handle_scope(env, scope);
  return status == napi_ok;
}

/* Queue the replies JavaScript wrote for datagrams 0..count-1. */
static void queue_replies(bsock *b, uint32_t count) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < count; i++) {
    int32_t len = b->reply[i];
    if (len == 0) continue;
    if (len < 0 || (uint32_t)len > b->tx_slot || b->info[(size_t)i * INFO_WORDS + 2] == 0) {
      b->stats.bad_replies++;
      continue;
    }
    b->siov[k].iov_base = b->tx + (size_t)i * b->tx_slot;
    b->siov[k].iov_len = (size_t)len;
    struct msghdr *h = &b->smsg[k].msg_hdr;
    h->msg_name = &b->names[i];
    h->msg_namelen = b->rmsg[i].msg_hdr.msg_namelen;
    h->msg_iov = &b->siov[k];
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
    k++;
  }
  b->send_at = 0;
  b->send_count = k;
}

static void read_batches(bsock *b) {
  for (int round = 0; round < MAX_ROUNDS && !b->closing; round++) {
    for (uint32_t i = 0; i < b->batch; i++) {
      b->rmsg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      b->rmsg[i].msg_hdr.msg_flags = 0;
    }
    /* MSG_TRUNC: msg_len is the datagram's real length even when it was cut. */
    int n = recvmmsg(b->fd, b->rmsg, b->batch, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        b->stats.recv_errors++;
        b->stats.last_errno = errno;
      }
      return;
    }
    if (n == 0) return;
    uint32_t count = (uint32_t)n;
    for (uint32_t i = 0; i < count; i++) {
      describe(b, i);
      b->reply[i] = 0;
    }
    b->stats.received += count;
    b->stats.batches++;
    bool ok = call_js(b, count);
    /* Closed from the callback: nothing more is sent or read. A callback that
     * threw has gone to uncaughtException; its batch is dropped. */
    if (b->closing || !ok) return;
    queue_replies(b, count);
    if (!flush(b)) {
      set_poll(b, UV_WRITABLE);
      return;
    }
    if (count < b->batch) return; /* drained */
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  bsock *b = handle->data;
  if (b->closing) return;
  if (status < 0) {
    b->stats.recv_errors++;
    b->stats.last_errno = -status;
    return;
  }
  if (events & UV_WRITABLE) {
    if (!flush(b)) return;
    set_poll(b, UV_READABLE);
  }
  read_batches(b);
}

/* ---- the JavaScript surface --------------------------------------------- */

static bool get_u32(napi_env env, napi_value v, uint32_t min, uint32_t max, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= min && d <= max) || d != (double)(uint32_t)d) return false;
  *out = (uint32_t)d;
  return true;
}

static void set_u32(napi_env env, napi_value obj, const char *name, uint32_t value) {
  napi_value v;
  napi_create_uint32(env, value, &v);
  napi_set_named_property(env, obj, name, v);
}

/* Parse "a.b.c.d", "x:y::z" or "fe80::1%eth0" into a socket address. */
static bool parse_host(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *len = sizeof *s4;
    return true;
  }
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (strlen(host) >= sizeof text) return false;
  strcpy(text, host);
  char *zone = strchr(text, '%');
  if (zone != NULL) *zone++ = '\0';
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1) return false;
  s6->sin6_family = AF_INET6;
  s6->sin6_port = htons((uint16_t)port);
  if (zone != NULL) {
    s6->sin6_scope_id = if_nametoindex(zone);
    if (s6->sin6_scope_id == 0) s6->sin6_scope_id = (uint32_t)strtoul(zone, NULL, 10);
  }
  *len = sizeof *s6;
  return true;
}

/* A zeroed ArrayBuffer of n bytes, referenced from b until close, set on the handle as `name`. */
static void *buffer(napi_env env, bsock *b, napi_value handle, int which, const char *name, size_t n) {
  void *data;
  napi_value ab;
  if (napi_create_arraybuffer(env, n, &data, &ab) != napi_ok) return NULL;
  napi_create_reference(env, ab, 1, &b->buffers[which]);
  napi_set_named_property(env, handle, name, ab);
  return data;
}

/* open(host, port, batch, rxSlot, txSlot, receiveBuffer, onBatch) -> handle */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char host[128];
  size_t host_len;
  uint32_t port, batch, rx_slot, tx_slot, rcvbuf;
  napi_valuetype fn_type = napi_undefined;
  if (argc == 7) napi_typeof(env, argv[6], &fn_type);
  if (argc != 7 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len) != napi_ok || host_len >= sizeof host - 1 ||
      !get_u32(env, argv[1], 0, 65535, &port) || !get_u32(env, argv[2], 1, 1024, &batch) || !get_u32(env, argv[3], 16, 65536, &rx_slot) ||
      !get_u32(env, argv[4], 16, 65536, &tx_slot) || !get_u32(env, argv[5], 0, 1u << 30, &rcvbuf) || fn_type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "open(host, port, batch, rxSlot, txSlot, receiveBuffer, onBatch)");
    return NULL;
  }
  struct sockaddr_storage addr;
  socklen_t addr_len;
  if (!parse_host(host, (int)port, &addr, &addr_len)) {
    throw_system(env, "bind", EINVAL, host, (int)port);
    return NULL;
  }
  int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_system(env, "socket", errno, host, (int)port);
    return NULL;
  }
  /* As node:dgram's recvBufferSize does (the kernel caps it at rmem_max). */
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) {
    int err = errno;
    close(fd);
    throw_system(env, "setsockopt", err, host, (int)port);
    return NULL;
  }
  if (bind(fd, (struct sockaddr *)&addr, addr_len) != 0) {
    int err = errno;
    close(fd);
    throw_system(env, "bind", err, host, (int)port);
    return NULL;
  }
  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  getsockname(fd, (struct sockaddr *)&local, &local_len);

  bsock *b = calloc(1, sizeof *b);
  if (b != NULL) {
    b->rmsg = calloc(batch, sizeof *b->rmsg);
    b->riov = calloc(batch, sizeof *b->riov);
    b->names = calloc(batch, sizeof *b->names);
    b->smsg = calloc(batch, sizeof *b->smsg);
    b->siov = calloc(batch, sizeof *b->siov);
  }
  if (b == NULL || !b->rmsg || !b->riov || !b->names || !b->smsg || !b->siov) {
    if (b != NULL) free_bsock(b);
    close(fd);
    throw_system(env, "open", ENOMEM, host, (int)port);
    return NULL;
  }
  b->env = env;
  b->fd = fd;
  b->batch = batch;
  b->rx_slot = rx_slot;
  b->tx_slot = tx_slot;

  napi_value handle, name;
  napi_create_object(env, &handle);
  b->rx = buffer(env, b, handle, 0, "rx", (size_t)batch * rx_slot);
  b->tx = buffer(env, b, handle, 1, "tx", (size_t)batch * tx_slot);
  b->info = buffer(env, b, handle, 2, "info", (size_t)batch * INFO_WORDS * 4);
  b->reply = buffer(env, b, handle, 3, "reply", (size_t)batch * 4);
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  if (!b->rx || !b->tx || !b->info || !b->reply || loop == NULL || uv_poll_init(loop, &b->poll, fd) != 0) {
    for (int i = 0; i < 4; i++) if (b->buffers[i] != NULL) napi_delete_reference(env, b->buffers[i]);
    free_bsock(b);
    close(fd);
    throw_system(env, "open", ENOMEM, host, (int)port);
    return NULL;
  }
  b->poll.data = b;
  for (uint32_t i = 0; i < batch; i++) {
    b->riov[i].iov_base = b->rx + (size_t)i * rx_slot;
    b->riov[i].iov_len = rx_slot;
    b->rmsg[i].msg_hdr.msg_name = &b->names[i];
    b->rmsg[i].msg_hdr.msg_iov = &b->riov[i];
    b->rmsg[i].msg_hdr.msg_iovlen = 1;
  }

  char text[INET6_ADDRSTRLEN];
  uint16_t local_port;
  if (local.ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&local;
    inet_ntop(AF_INET6, &s->sin6_addr, text, sizeof text);
    local_port = ntohs(s->sin6_port);
  } else {
    const struct sockaddr_in *s = (const struct sockaddr_in *)&local;
    inet_ntop(AF_INET, &s->sin_addr, text, sizeof text);
    local_port = ntohs(s->sin_port);
  }
  napi_value v;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, handle, "address", v);
  set_u32(env, handle, "port", local_port);
  set_u32(env, handle, "batch", batch);
  set_u32(env, handle, "rxSlot", rx_slot);
  set_u32(env, handle, "txSlot", tx_slot);
  set_u32(env, handle, "infoWords", INFO_WORDS);

  napi_wrap(env, handle, b, finalize, NULL, NULL);
  napi_create_reference(env, handle, 1, &b->self);
  napi_create_reference(env, argv[6], 1, &b->on_batch);
  napi_create_string_utf8(env, "peerkit:BatchUdpSocket", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, handle, name, &b->async);
  napi_add_async_cleanup_hook(env, on_env_cleanup, b, &b->cleanup);
  set_poll(b, UV_READABLE);
  return handle;
}

static bsock *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_get_cb_info(env, info, argc, argv, NULL, NULL);
  void *data = NULL;
  if (*argc < 1 || napi_unwrap(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a batch UDP socket handle");
    return NULL;
  }
  return data;
}

/* close(handle, onClosed?): no batch is delivered after this returns. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bsock *b = unwrap(env, info, &argc, argv);
  if (b == NULL || b->closing) return NULL;
  napi_valuetype t = napi_undefined;
  if (argc > 1) napi_typeof(env, argv[1], &t);
  if (t == napi_function) napi_create_reference(env, argv[1], 1, &b->on_close);
  start_close(b);
  return NULL;
}

static void set_count(napi_env env, napi_value obj, const char *name, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, name, v);
}

/* stats(handle) -> the counters */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  bsock *b = unwrap(env, info, &argc, argv);
  if (b == NULL) return NULL;
  napi_create_object(env, &out);
  set_count(env, out, "received", b->stats.received);
  set_count(env, out, "batches", b->stats.batches);
  set_count(env, out, "sent", b->stats.sent);
  set_count(env, out, "sendErrors", b->stats.send_errors);
  set_count(env, out, "truncated", b->stats.truncated);
  set_count(env, out, "badReplies", b->stats.bad_replies);
  set_count(env, out, "receiveErrors", b->stats.recv_errors);
  napi_value code;
  napi_create_string_utf8(env, b->stats.last_errno == 0 ? "" : uv_err_name(-b->stats.last_errno), NAPI_AUTO_LENGTH, &code);
  napi_set_named_property(env, out, "lastError", code);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
    {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
