"""Create a v1 .torrent with libtorrent (peerkit interop tests).

usage: lt_create.py <file or folder> <output.torrent> <tracker url> [piece length]
"""
import os
import sys

import libtorrent as lt

src, out, tracker = sys.argv[1], sys.argv[2], sys.argv[3]
piece_length = int(sys.argv[4]) if len(sys.argv) > 4 else 0
fs = lt.file_storage()
lt.add_files(fs, src)
ct = lt.create_torrent(fs, piece_length, flags=lt.create_torrent.v1_only)
ct.add_tracker(tracker)
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(src)))
with open(out, "wb") as f:
    f.write(lt.bencode(ct.generate()))
