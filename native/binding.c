/*
 * The JavaScript surface of the batched UDP socket (see batch_udp.c):
 *
 *   open(host, port, batch, rxSlot, txSlot, receiveBuffer, onBatch) -> handle
 *   close(handle, onClosed?)     stats(handle) -> counters
 *
 * open() binds a non-blocking socket and allocates the four ArrayBuffers
 * that JavaScript and C share (rx, tx, info, reply), set on the handle.
 * Errors are thrown shaped like Node's system errors.
 */
#include "batch_udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    if (b != NULL) bsock_free(b);
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
    bsock_free(b);
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

  napi_wrap(env, handle, b, bsock_finalize, NULL, NULL);
  napi_create_reference(env, handle, 1, &b->self);
  napi_create_reference(env, argv[6], 1, &b->on_batch);
  napi_create_string_utf8(env, "peerkit:BatchUdpSocket", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, handle, name, &b->async);
  napi_add_async_cleanup_hook(env, bsock_env_cleanup, b, &b->cleanup);
  bsock_poll(b, UV_READABLE);
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
  bsock_close(b);
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
