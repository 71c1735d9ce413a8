"""Print what libtorrent reads from a .torrent, as JSON (peerkit interop tests)."""
import json
import sys

import libtorrent as lt

ti = lt.torrent_info(sys.argv[1])
fs = ti.files()
files = []
for i in range(fs.num_files()):
    if fs.file_flags(i) & lt.file_storage.flag_pad_file:
        continue
    files.append({"path": fs.file_path(i).replace("\\", "/"), "length": fs.file_size(i)})
print(json.dumps({
    "infoHash": str(ti.info_hashes().v1),
    "name": ti.name(),
    "length": ti.total_size(),
    "pieceLength": ti.piece_length(),
    "pieces": ti.num_pieces(),
    "files": files,
}))
