"""Run one libtorrent session as a seeder or leecher of a .torrent (peerkit interop tests).

usage: lt_peer.py <file.torrent> <save folder> <listen port, 0: any> <seed|leech> [timeout seconds]

The session listens on 127.0.0.1 only, with DHT, local peer discovery, UPnP
and NAT-PMP off, so the tracker in the .torrent is the only way it can find
peers (the tests also make the torrent private, BEP 27, which turns off PEX).
It announces to every tracker of the torrent and never dials out of 127.0.0.1.

It writes one JSON object per line to stdout, flushed at once, for the test
to follow:

  {"event": "listening", "port": N}              the port it listens on and announces
  {"event": "checked", "progress": 1.0}           files checked (a seeder is ready)
  {"event": "announce", "url": U, "tracker_event": "started"|"completed"|"stopped"|"none"}
  {"event": "tracker_reply", "url": U, "peers": N}
  {"event": "tracker_error", "url": U, "message": M}
  {"event": "peer", "endpoint": "127.0.0.1:P"}   a peer connection was made
  {"event": "progress", "progress": P, "peers": N, "seeds": S}   at most twice a second, on change
  {"event": "complete"}                           every piece downloaded and checked
  {"event": "stopped", "answered": B}             after "stop": B is whether the tracker answered
  {"event": "error", "message": M}

and reads commands on stdin, one per line:

  stop        pause the torrent, which announces event=stopped, wait for the
              tracker to answer it (5 s at most), then exit 0
  reannounce  announce now, whatever the tracker's interval

It never exits on completion by itself (a finished leecher goes on seeding,
as a real client does); it exits 0 after "stop", 1 on an error, 2 when the
timeout passes, and at once when stdin is closed (the test went away).
"""
import json
import queue
import sys
import threading
import time

import libtorrent as lt

torrent_file, save_path, port, role = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
deadline = time.monotonic() + timeout


def say(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


EVENTS = {0: "none", 1: "completed", 2: "started", 3: "stopped", 4: "paused"}

settings = {
    "listen_interfaces": "127.0.0.1:%d" % port,
    "outgoing_interfaces": "127.0.0.1",
    "enable_dht": False,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    # TCP only: aria2 does not speak uTP, and one transport keeps the test simple.
    "enable_outgoing_utp": False,
    "enable_incoming_utp": False,
    # Every peer of the test is 127.0.0.1 (on its own port).
    "allow_multiple_connections_per_ip": True,
    "announce_to_all_trackers": True,
    "announce_to_all_tiers": True,
    # Give up quickly on the stopped announce when the session ends.
    "stop_tracker_timeout": 2,
    "alert_mask": lt.alert.category_t.error_notification
    | lt.alert.category_t.status_notification
    | lt.alert.category_t.tracker_notification
    | lt.alert.category_t.connect_notification
    | lt.alert.category_t.storage_notification,
}
ses = lt.session(settings)

params = lt.add_torrent_params()
params.ti = lt.torrent_info(torrent_file)
params.save_path = save_path
handle = ses.add_torrent(params)
say(event="listening", port=ses.listen_port())

commands = queue.Queue()


def read_stdin():
    for line in sys.stdin:
        commands.put(line.strip())
    commands.put("eof")


threading.Thread(target=read_stdin, daemon=True).start()

stopping_since = None
stop_sent = set()  # trackers the stopped announce went to
complete_said = False
last_progress = None
last_progress_at = 0.0

while True:
    now = time.monotonic()
    if now > deadline:
        say(event="error", message="timed out after %g s" % timeout)
        sys.exit(2)
    try:
        command = commands.get_nowait()
    except queue.Empty:
        command = None
    if command == "eof":
        sys.exit(0)
    if command == "reannounce":
        handle.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
    elif command == "stop" and stopping_since is None:
        # Pausing announces event=stopped to the trackers.
        handle.pause()
        stopping_since = now
    if stopping_since is not None and now - stopping_since > 5:
        say(event="stopped", answered=False)
        sys.exit(0)

    ses.wait_for_alert(100)
    for a in ses.pop_alerts():
        if isinstance(a, lt.tracker_announce_alert):
            event = EVENTS.get(int(a.event), str(a.event))
            if event == "stopped":
                stop_sent.add(a.tracker_url())
            say(event="announce", url=a.tracker_url(), tracker_event=event)
        elif isinstance(a, (lt.tracker_reply_alert, lt.tracker_error_alert)):
            if isinstance(a, lt.tracker_reply_alert):
                say(event="tracker_reply", url=a.tracker_url(), peers=a.num_peers)
            else:
                say(event="tracker_error", url=a.tracker_url(), message=a.message())
            if a.tracker_url() in stop_sent:
                stop_sent.discard(a.tracker_url())
                if not stop_sent:
                    say(event="stopped", answered=True)
                    sys.exit(0)
        elif isinstance(a, lt.tracker_warning_alert):
            say(event="tracker_warning", url=a.tracker_url(), message=a.message())
        elif isinstance(a, lt.peer_connect_alert):
            say(event="peer", endpoint="%s:%d" % (a.endpoint[0], a.endpoint[1]))
        elif isinstance(a, lt.torrent_checked_alert):
            say(event="checked", progress=handle.status().progress)
        elif isinstance(a, lt.torrent_finished_alert) and role == "leech" and not complete_said:
            complete_said = True
            say(event="complete")
        elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert, lt.listen_failed_alert)):
            say(event="error", message=a.message())
            sys.exit(1)

    if stopping_since is None and now - last_progress_at >= 0.5:
        s = handle.status()
        p = (round(s.progress, 4), s.num_peers, s.num_seeds)
        if p != last_progress:
            last_progress = p
            say(event="progress", progress=p[0], peers=p[1], seeds=p[2], state=str(s.state))
        last_progress_at = now
