/*
 * The batched UDP socket shared by batch_udp.c (the data path and a
 * socket's lifetime, on the libuv loop) and binding.c (what JavaScript
 * calls: open, close, stats). The design is described in batch_udp.c.
 */
#ifndef PEERKIT_BATCH_UDP_H
#define PEERKIT_BATCH_UDP_H

#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

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

/* Watch the socket for `events` (UV_READABLE or UV_WRITABLE). */
void bsock_poll(bsock *b, int events);
/* Stop delivery now; the fd is closed and references dropped once libuv has closed the handle. */
void bsock_close(bsock *b);
void bsock_free(bsock *b);
/* The handle object's finalizer, and the environment's teardown hook. */
void bsock_finalize(napi_env env, void *data, void *hint);
void bsock_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg);

#endif
