"""Run N libtorrent sessions as DHT nodes (BEP 5, BEP 44) and peers, for peerkit interop tests.

usage: lt_dht.py <number of sessions> [timeout seconds, default 120]

Each session listens on its own 127.0.0.1 port, one number for TCP (peers) and
UDP (DHT), with the DHT on, no bootstrap routers, LSD, UPnP, NAT-PMP and uTP off,
and libtorrent's guards against many nodes on one IP lifted (see `settings`).
The sessions know no DHT node until told ("add_node", "join").

It writes one JSON object per line to stdout, flushed at once, first

  {"event": "ready", "sessions": [{"index": I, "port": P, "node_id": "<40 hex>"|null}]}

then reads commands on stdin, one JSON object per line, and answers each with
one line, in order, one command at a time. A command runs on session "session"
(default 0). Hex is lowercase hex of raw bytes; a "value" V is the hex of a whole
bencoded value ("3:abc" is "333a616263"); S is a salt, a text string, "" for none.

  {"cmd": "add_node", "host": H, "port": P}  add a DHT node to every session, or
      only to "session" if given                -> {"event": "ok", "cmd": "add_node"}
  {"cmd": "join"}  add every session to every other one's routing table, answer
      when each table holds the others (5 s at most)
      -> {"event": "ok", "cmd": "join", "nodes": [routing table size per session]}
  {"cmd": "announce", "infohash": X, "port": P (optional)}
      -> {"event": "announced", "infohash": X, "port": P, "via": "dht_announce"|"torrent",
          "responses": N (announce_peer answered)}  when the lookup and its
      announce_peer messages are done (10 s at most). libtorrent 2.0.8's python
      dht_announce cannot be called (libtorrent#7441, fixed in 2.0.9): there it adds
      a torrent of X without metadata ("via": "torrent"), which announces the
      session's own port (and may connect to the peers it finds); another P is
      an error.
  {"cmd": "get_peers", "infohash": X}  when the lookup ends (10 s at most)
      -> {"event": "peers", "infohash": X, "peers": ["127.0.0.1:P", ...]}
  {"cmd": "put_immutable", "value": V}  V in canonical bencoding
      -> {"event": "put", "target": "<sha1 of V>", "responses": N}
  {"cmd": "get_immutable", "target": T}  -> {"event": "item", "target": T, "value": V|null}
  {"cmd": "put_mutable", "seed": "<64 hex ed25519 seed>", "salt": S, "value": V}
      -> {"event": "put", "public_key": K, "salt": S, "seq": N, "signature": G, "responses": N}
      The bindings put strings only (V must be a bencoded string) and pick seq
      themselves: one more than the newest they find, else 1.
  {"cmd": "get_mutable", "public_key": K, "salt": S}  (the authoritative answer)
      -> {"event": "item", "public_key": K, "salt": S, "seq": N|null, "value": V|null,
          "signature": G|null, "authoritative": B}
  {"cmd": "add_torrent", "torrent": F or "magnet": M, "save_path": D, "upload_limit":
   bytes/s, "download_limit": bytes/s (0 or absent: none)}
      -> {"event": "added", "infohash": X, "port": P}
      (seeds or downloads, announces on the DHT by itself, does PEX)
  {"cmd": "connect_peer", "infohash": X, "host": H, "port": P}
      -> {"event": "ok", "cmd": "connect_peer"}
  {"cmd": "status", "infohash": X}  (byte counts are payload)
      -> {"event": "status", "infohash": X, "progress": 0..1, "state": S, "total_upload": N,
          "total_download": N, "peers": [{"endpoint": "127.0.0.1:P", "total_upload": N,
          "total_download": N, "client": C}]}
  {"cmd": "stats"}  -> {"event": "stats", "sessions": [{"index": I, "nodes": N}]}
  {"cmd": "announces"}  the announce_peer messages the sessions have received
      -> {"event": "announces", "announces": [{"session": I, "infohash": X, "host": H, "port": P}]}
  {"cmd": "stop"}  exit 0, without an answer

Gets wait 15 s at most, puts 30 s. A bad or failed command answers {"event":
"error", "message": M}, and the next is read. Item values are the exact bytes of
"v" in the responses (dht_pkt_alert): the bindings' alert.item only works for
strings. It exits 0 on "stop" and at once when stdin closes (the test went
away), 1 if it cannot listen, 2 (after an error line) when the timeout passes.
"""
import hashlib
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import time

import libtorrent as lt

count = int(sys.argv[1])
timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
deadline = time.monotonic() + timeout
scratch = tempfile.mkdtemp(prefix="lt_dht_")  # save path of the torrents "announce" adds


def say(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def finish(code):
    shutil.rmtree(scratch, ignore_errors=True)
    os._exit(code)  # at once: tearing sessions down can take seconds


# ed25519 keys from a seed as libtorrent's ed25519_create_keypair makes them (the
# bindings lack it): the 64-byte secret key is SHA-512(seed) clamped, the public
# key its first half times the base point. RFC 8032 arithmetic in extended
# coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, xy = T/Z.
Q = 2**255 - 19
D = -121665 * pow(121666, Q - 2, Q) % Q


def _add(p, q):
    a, b = (p[1] - p[0]) * (q[1] - q[0]) % Q, (p[1] + p[0]) * (q[1] + q[0]) % Q
    c, d = 2 * p[3] * q[3] * D % Q, 2 * p[2] * q[2] % Q
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % Q, g * h % Q, f * g % Q, e * h % Q)


def keypair(seed):
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] = (h[31] & 63) | 64
    y = 4 * pow(5, Q - 2, Q) % Q  # the base point: y = 4/5, x even
    u = (y * y - 1) * pow(D * y * y + 1, Q - 2, Q) % Q
    x = pow(u, (Q + 3) // 8, Q)
    x = x if x * x % Q == u else x * pow(2, (Q - 1) // 4, Q) % Q
    x = Q - x if x & 1 else x
    base, acc, n = (x, y, 1, x * y % Q), (0, 1, 1, 0), int.from_bytes(h[:32], "little")
    while n:
        acc = _add(acc, base) if n & 1 else acc
        base, n = _add(base, base), n >> 1
    z = pow(acc[2], Q - 2, Q)
    x, y = acc[0] * z % Q, acc[1] * z % Q
    return bytes(h), (y | (x & 1) << 255).to_bytes(32, "little")


# The exact bytes of values in DHT packets (dht_pkt_alert), not re-encoded.
def _end(b, i):
    """Index just past the bencoded value that starts at b[i]."""
    if b[i] == 0x69:  # i<n>e
        return b.index(b"e", i) + 1
    if b[i] in (0x6C, 0x64):  # l...e, d...e
        i += 1
        while b[i] != 0x65:
            i = _end(b, i)
        return i + 1
    colon = b.index(b":", i)
    return colon + 1 + int(b[i:colon])


def packet(b):
    """{key: raw bencoded value} of the bencoded dict b (a DHT packet), {} if not one."""
    out, i = {}, 1
    try:
        while b[:1] == b"d" and b[i] != 0x65:
            k = _end(b, i)
            e = _end(b, k)
            out[b[b.index(b":", i) + 1:k]] = b[k:e]
            i = e
    except (ValueError, IndexError):
        return {}
    return out


C = lt.alert.category_t
MASK = (C.error_notification | C.status_notification | C.dht_notification
        | C.dht_operation_notification)
settings = {
    "listen_interfaces": "127.0.0.1:0",
    "outgoing_interfaces": "127.0.0.1",
    "enable_dht": True,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    "enable_outgoing_utp": False,  # TCP only
    "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "dht_bootstrap_nodes": "",  # no public routers: the test adds every node
    # Every node is 127.0.0.1. Needed: the routing table would keep one node per IP.
    "dht_restrict_routing_ips": False,
    # Needed: the DoS blocker bans an IP (so every node) for dht_block_timeout
    # (300 s) once it sends 10 * dht_block_ratelimit (default 5) packets in 10 s.
    "dht_block_ratelimit": 1000000,
    # Not needed in the tests so far, but all are about one IP or loopback.
    "dht_restrict_search_ips": False,
    "dht_ignore_dark_internet": False,
    "dht_prefer_verified_node_ids": False,  # loopback ids cannot follow BEP 42
    "dht_upload_rate_limit": 100000000,  # default 8000 bytes/s for all the DHT
    "dht_aggressive_lookups": True,
    "dht_extended_routing_table": True,
    "alert_queue_size": 100000,
    "alert_mask": MASK,
}


def listen():
    """A new session and its port. libtorrent binds TCP to a free port, then UDP to
    the same number, or to the next free one if that is taken: retry until equal."""
    for _ in range(20):
        s, bound = lt.session(settings), {}
        while len(bound) < 2:
            if time.monotonic() > deadline:
                say(event="error", message="not listening after %g s" % timeout)
                finish(2)
            s.wait_for_alert(100)
            for a in s.pop_alerts():
                if isinstance(a, lt.listen_succeeded_alert):
                    bound[a.socket_type == lt.socket_type_t.tcp] = a.port
                elif isinstance(a, lt.listen_failed_alert):
                    say(event="error", message=a.message())
                    finish(1)
        if bound[True] == bound[False]:
            return s, bound[True]
        del s
    say(event="error", message="found no port free for both TCP and UDP")
    finish(1)


sessions, ports = zip(*[listen() for _ in range(count)])


def node_id(i):
    state = sessions[i].save_state(lt.save_state_flags_t.save_dht_state)
    ids = state.get(b"dht state", {}).get(b"node-id")  # each entry: id + IP
    ids = [ids] if isinstance(ids, bytes) else ids
    return ids[0][:20].hex() if ids else None


until = time.monotonic() + 5
while None in [node_id(i) for i in range(count)] and time.monotonic() < until:
    time.sleep(0.05)
say(event="ready",
    sessions=[{"index": i, "port": ports[i], "node_id": node_id(i)} for i in range(count)])
heard = []  # announce_peer messages the sessions received


def unhex(text, size):
    raw = bytes.fromhex(text)
    if len(raw) != size:  # lt.sha1_hash takes any length
        raise ValueError("%r is not %d bytes in hex" % (text, size))
    return raw


def sha1(hex_string):
    return lt.sha1_hash(unhex(hex_string, 20))


def handle(i, hex_string):
    h = sessions[i].find_torrent(sha1(hex_string))
    if not h.is_valid():
        raise ValueError("session %d has no torrent %s" % (i, hex_string))
    return h


def capture(i, on):
    """Raw DHT packet alerts (dht_log category) of session i on or off."""
    sessions[i].apply_settings({"alert_mask": MASK | (C.dht_log_notification if on else 0)})


class Stats:
    """Polls dht_stats of some sessions every 50 ms: nodes[i] is the routing table
    size, lookups[i] how many lookups run (per the latest alert)."""

    def __init__(self, which):
        self.which, self.at, self.nodes, self.lookups = which, 0.0, {}, {}

    def feed(self, ev):
        if ev is None and time.monotonic() - self.at > 0.05:
            for i in self.which:
                sessions[i].post_dht_stats()
            self.at = time.monotonic()
        elif ev and ev[0] in self.which and isinstance(ev[1], lt.dht_stats_alert):
            self.nodes[ev[0]] = sum(b["num_nodes"] for b in ev[1].routing_table)
            self.lookups[ev[0]] = len(ev[1].active_requests)


# Command handlers. A function answers at once; a generator answers later: the
# main loop sends it every (session, alert) pair, and None every 20 ms or so.
def cmd_add_node(c, i):
    for j in [i] if "session" in c else range(count):
        sessions[j].add_dht_node((c.get("host", "127.0.0.1"), int(c["port"])))
    say(event="ok", cmd="add_node")


def tables(enough):
    """Routing table sizes of all sessions once enough(sizes) (5 s at most)."""
    stats, end = Stats(range(count)), time.monotonic() + 5
    while time.monotonic() < end and not (
            len(stats.nodes) == count and enough(stats.nodes.values())):
        stats.feed((yield))
    return [stats.nodes.get(j) for j in range(count)]


def cmd_join(c, i):
    for j in range(count):
        for k in range(count):
            if j != k:
                sessions[j].add_dht_node(("127.0.0.1", ports[k]))
    nodes = yield from tables(lambda sizes: min(sizes) >= count - 1)
    say(event="ok", cmd="join", nodes=nodes)


def cmd_stats(c, i):
    nodes = yield from tables(lambda sizes: True)
    say(event="stats", sessions=[{"index": j, "nodes": n} for j, n in enumerate(nodes)])


def cmd_announce(c, i):
    ih, port = sha1(c["infohash"]), int(c.get("port") or ports[i])
    try:
        sessions[i].dht_announce(ih, port, 0)
        via = "dht_announce"
    except TypeError:  # Boost.Python.ArgumentError: libtorrent#7441
        if port != ports[i]:
            raise ValueError("these bindings cannot dht_announce (libtorrent#7441), only "
                             "announce the session's own port %d" % ports[i]) from None
        h = sessions[i].find_torrent(ih)
        if not h.is_valid():
            p = lt.parse_magnet_uri("magnet:?xt=urn:btih:" + c["infohash"])
            p.save_path = scratch
            h = sessions[i].add_torrent(p)
        h.force_dht_announce()
        via = "torrent"
    # Done when the get_peers lookup of X has run and no lookup runs any more, and
    # the announce_peer it sent (raw packets with our id and X) are answered (1 s
    # at most); or when no lookup started in 2 s (an empty routing table).
    me, sent, answered, looked, idle_at = bytes.fromhex(node_id(i)), set(), set(), False, None
    stats, start = Stats([i]), time.monotonic()
    capture(i, True)
    try:
        while time.monotonic() < start + 10:
            ev = yield
            stats.feed(ev)
            a = ev and ev[0] == i and ev[1]
            if isinstance(a, lt.dht_outgoing_get_peers_alert) and a.info_hash == ih and not looked:
                looked = True
                stats.lookups.pop(i, None)  # a dht_stats_alert from before says nothing
            elif isinstance(a, lt.dht_pkt_alert):
                m = packet(a.pkt_buf)
                q = packet(m.get(b"a", b""))
                if m.get(b"q") == b"13:announce_peer" and q.get(b"id") == b"20:" + me \
                        and q.get(b"info_hash") == b"20:" + ih.to_bytes():
                    sent.add(m.get(b"t"))
                elif m.get(b"y") == b"1:r" and m.get(b"t") in sent:
                    answered.add(m.get(b"t"))
            idle_at = (idle_at or time.monotonic()) if stats.lookups.get(i) == 0 else None
            if idle_at and (looked and (sent <= answered or time.monotonic() - idle_at > 1)
                            or not looked and time.monotonic() - start > 2):
                break
    finally:
        capture(i, False)
    say(event="announced", infohash=c["infohash"], port=port, via=via, responses=len(answered))


def cmd_get_peers(c, i):
    ih, peers = sha1(c["infohash"]), set()
    sessions[i].dht_get_peers(ih)
    stats, end = Stats([i]), time.monotonic() + 10
    while time.monotonic() < end and stats.lookups.get(i) != 0:
        ev = yield
        stats.feed(ev)
        a = ev and ev[0] == i and ev[1]
        if isinstance(a, lt.dht_get_peers_reply_alert) and a.info_hash == ih:
            peers.update("%s:%d" % p for p in a.peers())
    say(event="peers", infohash=c["infohash"], peers=sorted(peers))


def wait_put(i, match):
    """Wait for session i's dht_put_alert that `match`es (30 s at most), return it."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        ev = yield
        if ev and ev[0] == i and isinstance(ev[1], lt.dht_put_alert) and match(ev[1]):
            return ev[1]
    raise TimeoutError("no dht_put_alert in 30 s")


def cmd_put_immutable(c, i):
    raw = bytes.fromhex(c["value"])
    entry = lt.bdecode(raw)
    if lt.bencode(entry) != raw:  # libtorrent would store (and hash) its own encoding
        raise ValueError("value is not canonical bencoding (or has trailing bytes)")
    target = sessions[i].dht_put_immutable_item(entry)
    a = yield from wait_put(i, lambda a: a.target == target)
    say(event="put", target=str(target), responses=a.num_success)


def cmd_put_mutable(c, i):
    secret, public = keypair(unhex(c["seed"], 32))
    salt, value = c.get("salt", ""), lt.bdecode(bytes.fromhex(c["value"]))
    if not isinstance(value, bytes):
        raise ValueError("the python bindings put only strings as mutable items")
    sessions[i].dht_put_mutable_item(secret, public, value, salt.encode())
    a = yield from wait_put(i, lambda a: bytes(a.public_key) == public and a.salt == salt)
    say(event="put", public_key=public.hex(), salt=salt, seq=a.seq,
        signature=bytes(a.signature).hex(), responses=a.num_success)


def get_item(i, start, kind, on_item):
    """Call start() with session i's raw packets captured, then on_item(alert, the
    exact v bytes of its item or None) for each alert of class `kind` until that
    returns True (15 s at most)."""
    seen = {}  # sha1 of v (immutable items), signature (mutable) -> v
    capture(i, True)
    try:
        start()
        end = time.monotonic() + 15
        while time.monotonic() < end:
            ev = yield
            a = ev and ev[0] == i and ev[1]
            if isinstance(a, lt.dht_pkt_alert):
                r = packet(packet(a.pkt_buf).get(b"r", b""))
                if r.get(b"v"):  # sig is "64:" and the signature
                    seen[r[b"sig"][3:] if b"sig" in r else hashlib.sha1(r[b"v"]).digest()] = r[b"v"]
            elif isinstance(a, kind):
                mutable = kind is lt.dht_mutable_item_alert
                if on_item(a, seen.get(bytes(a.signature) if mutable else a.target.to_bytes())):
                    return
    finally:
        capture(i, False)


def cmd_get_immutable(c, i):
    target, value = sha1(c["target"]), None

    def on_item(a, v):  # one alert, with no v if libtorrent found nothing
        nonlocal value
        value = v if a.target == target else value
        return a.target == target

    yield from get_item(i, lambda: sessions[i].dht_get_immutable_item(target),
                        lt.dht_immutable_item_alert, on_item)
    say(event="item", target=c["target"], value=value and value.hex())


def cmd_get_mutable(c, i):
    public, salt, best, final = unhex(c["public_key"], 32), c.get("salt", ""), None, False

    def on_item(a, v):  # alerts as newer items come, then an authoritative one
        nonlocal best, final
        if bytes(a.key) != public or a.salt != salt:
            return False
        if v and (best is None or a.seq >= best[0]):
            best = (a.seq, v.hex(), bytes(a.signature).hex())
        final = a.authoritative
        return final

    yield from get_item(i, lambda: sessions[i].dht_get_mutable_item(public, salt.encode()),
                        lt.dht_mutable_item_alert, on_item)
    seq, value, signature = best or (None, None, None)
    say(event="item", public_key=c["public_key"], salt=salt, seq=seq, value=value,
        signature=signature, authoritative=final)


def cmd_add_torrent(c, i):
    if "torrent" in c:
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(c["torrent"])
    else:
        p = lt.parse_magnet_uri(c["magnet"])
    p.save_path = c["save_path"]
    h = sessions[i].add_torrent(p)
    if c.get("upload_limit"):
        h.set_upload_limit(int(c["upload_limit"]))
    if c.get("download_limit"):
        h.set_download_limit(int(c["download_limit"]))
    say(event="added", infohash=str(h.info_hashes().v1), port=ports[i])


def cmd_connect_peer(c, i):
    handle(i, c["infohash"]).connect_peer((c.get("host", "127.0.0.1"), int(c["port"])))
    say(event="ok", cmd="connect_peer")


def cmd_status(c, i):
    h = handle(i, c["infohash"])
    s = h.status()
    peers = [{"endpoint": "%s:%d" % p.ip, "total_upload": p.total_upload,
              "total_download": p.total_download,
              "client": (p.client.decode("utf-8", "replace")
                         if isinstance(p.client, bytes) else p.client)}
             for p in h.get_peer_info()]
    say(event="status", infohash=c["infohash"], progress=s.progress, state=str(s.state),
        total_upload=s.total_payload_upload, total_download=s.total_payload_download, peers=peers)


COMMANDS = {name[4:]: f for name, f in list(globals().items()) if name.startswith("cmd_")}
COMMANDS["announces"] = lambda c, i: say(event="announces", announces=heard)
COMMANDS["stop"] = lambda c, i: finish(0)


def step(op, ev):
    """Run a waiting command on with ev; None once it has answered or failed."""
    try:
        op.send(ev)
        return op
    except StopIteration:
        return None
    except Exception as e:  # the test reads the message
        say(event="error", message="%s: %s" % (type(e).__name__, e))
        return None


def start(line):
    try:
        c = json.loads(line)
        i = int(c.get("session", 0))
        if not 0 <= i < count or c.get("cmd") not in COMMANDS:
            raise ValueError("no such session or command")
        op = COMMANDS[c["cmd"]](c, i)
    except Exception as e:
        say(event="error", message="%s: %s in %s" % (type(e).__name__, e, line.strip()))
        return None
    return op and step(op, None)  # a generator runs to its first yield


commands, closed = queue.Queue(), threading.Event()


def read_stdin():
    for line in sys.stdin:
        if line.strip():
            commands.put(line)
    closed.set()


threading.Thread(target=read_stdin, daemon=True).start()
op = None  # the command being answered, a generator
while True:
    if closed.is_set():
        finish(0)
    if time.monotonic() > deadline:
        say(event="error", message="timed out after %g s" % timeout)
        finish(2)
    if op is None and not commands.empty():
        op = start(commands.get())
    for i, s in enumerate(sessions):
        for a in s.pop_alerts():
            if isinstance(a, lt.dht_announce_alert):
                heard.append({"session": i, "infohash": str(a.info_hash), "host": str(a.ip),
                              "port": a.port})
            if op:
                op = step(op, (i, a))
    if op:
        op = step(op, None)
    sessions[0].wait_for_alert(20)
