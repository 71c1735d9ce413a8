"""One libtorrent seeder or leecher for bench:transfer (BENCH.md, "transfer").

usage: lt_bench.py <seed|leech> <file.torrent> <save folder> <listen port> [timeout seconds]

Tuned only where loopback needs it, otherwise libtorrent's defaults as a
user has them: TCP only (libtorrent's uTP over loopback runs at ~5 MB/s),
listening on 127.0.0.1, no DHT, local peer discovery, UPnP or NAT-PMP (the
tracker in the .torrent is the only way to find the other peer), several
connections per IP allowed (both peers are 127.0.0.1), no rate limits.

One JSON object per line on stdout, flushed at once:

  {"event": "listening", "port": N}
  {"event": "checked", "progress": P}        files checked; a seeder needs P == 1.0
  {"event": "announced", "peers": N}         a tracker answered (N peers in the reply)
  {"event": "tracker_error", "message": M}
  {"event": "complete", "seconds": S, "bytes": B}
                                             leecher: every piece downloaded and
                                             hash-checked, S seconds after add_torrent
  {"event": "error", "message": M}

A seeder runs until stdin closes or it is killed. A leecher exits 0 right
after "complete". Exit 1 on an error, 2 when the timeout passes.
"""
import json
import os
import sys
import threading
import time

import libtorrent as lt

role, torrent_file, save_path, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 600.0
if role not in ("seed", "leech"):
    sys.exit("lt_bench.py: role must be seed or leech, not %r" % role)


def say(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


ses = lt.session(
    {
        "listen_interfaces": "127.0.0.1:%d" % port,
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        # No rate limits (0 is unlimited; the defaults already are).
        "upload_rate_limit": 0,
        "download_rate_limit": 0,
        # Do not hold the exit of a finished leecher on the stopped announce.
        "stop_tracker_timeout": 1,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification
        | lt.alert.category_t.storage_notification,
    }
)

params = lt.add_torrent_params()
params.ti = lt.torrent_info(torrent_file)
params.save_path = save_path
total = params.ti.total_size()

if role == "seed":
    # The bench closes stdin (or goes away) to end the seeder.
    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()

started = time.monotonic()
handle = ses.add_torrent(params)
say(event="listening", port=ses.listen_port())
deadline = started + timeout

while True:
    now = time.monotonic()
    if now > deadline:
        say(event="error", message="timed out after %g s (progress %.4f)" % (timeout, handle.status().progress))
        sys.exit(2)
    ses.wait_for_alert(250)
    for a in ses.pop_alerts():
        if isinstance(a, lt.torrent_finished_alert) and role == "leech":
            seconds = time.monotonic() - started
            say(event="complete", seconds=seconds, bytes=total)
            sys.exit(0)
        elif isinstance(a, lt.torrent_checked_alert):
            progress = handle.status().progress
            say(event="checked", progress=progress)
            if role == "seed" and progress < 1.0:
                say(event="error", message="the seeder's data is incomplete (progress %.4f) in %s" % (progress, save_path))
                sys.exit(1)
        elif isinstance(a, lt.tracker_reply_alert):
            say(event="announced", peers=a.num_peers)
        elif isinstance(a, lt.tracker_error_alert):
            say(event="tracker_error", message=a.message())
        elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert, lt.listen_failed_alert)):
            say(event="error", message=a.message())
            sys.exit(1)
