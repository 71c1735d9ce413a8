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
#include "batch_udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_poll(uv_poll_t *handle, int status, int events);

/* An exception thrown by a callback we made from the loop: Node's uncaughtException path. */
static void rethrow_pending(napi_env env, napi_status status) {
  if (status != napi_pending_exception) return;
  napi_value e;
  if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
}

/* ---- closing and freeing ----------------------------------------------- */

void bsock_free(bsock *b) {
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
  if (b->finalized) bsock_free(b);
}

void bsock_close(bsock *b) {
  if (b->closing) return;
  b->closing = true;
  uv_poll_stop(&b->poll);
  uv_close((uv_handle_t *)&b->poll, on_closed);
}

void bsock_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  bsock *b = arg;
  b->tearing_down = true;
  bsock_close(b); /* on_closed removes the hook, which tells Node we are done */
}

void bsock_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  bsock *b = data;
  b->finalized = true;
  if (b->closed) {
    bsock_free(b);
    return;
  }
  /* Only at teardown: while open, b->self keeps the object alive. */
  b->tearing_down = true;
  bsock_close(b);
}

/* ---- the data path ------------------------------------------------------ */

void bsock_poll(bsock *b, int events) {
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
      bsock_poll(b, UV_WRITABLE);
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
    bsock_poll(b, UV_READABLE);
  }
  read_batches(b);
}
