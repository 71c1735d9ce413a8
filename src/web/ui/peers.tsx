import type { PeerView } from '../api-types.js';
import { percent, rate } from './format.js';

/*
 * The peers of a torrent, with the four bits of BitTorrent's choking
 * protocol (BEP 3) shown both ways. Data flows from A to B only while B is
 * interested in A and A does not choke B; so each direction is one cell:
 * "from it" is our interest and its choke, "to it" is its interest and our
 * choke. The choker (tit-for-tat, 4 slots a round) decides our side; one of
 * our unchokes is optimistic (rotated every 30 s, so newcomers get a chance);
 * a peer that sends nothing we asked for in a minute is snubbed.
 */

function Direction({ interested, choked, who }: { interested: boolean; choked: boolean; who: 'from' | 'to' }) {
  const interest = who === 'from' ? (interested ? 'we want pieces it has' : 'we want nothing it has') : interested ? 'it wants pieces we have' : 'it wants nothing we have';
  const choke = who === 'from' ? (choked ? 'it chokes us' : 'it unchokes us') : choked ? 'we choke it' : 'we unchoke it';
  return (
    <span class={`dir ${interested && !choked ? 'flowing' : ''}`} title={`${interest}; ${choke}`}>
      <span class={`chip ${interested ? 'on' : 'off'}`}>{interested ? 'interested' : 'not interested'}</span>
      <span class={`chip ${choked ? 'off' : 'on'}`}>{choked ? 'choked' : 'unchoked'}</span>
    </span>
  );
}

export function PeersView({ peers }: { peers: readonly PeerView[] }) {
  if (peers.length === 0) return <p class="muted">No peers connected. They come from the trackers, the DHT and peer exchange; a paused torrent has none.</p>;
  return (
    <>
      <div class="table-wrap">
        <table class="grid peers stack" aria-label="peers">
          <thead>
            <tr>
              <th>Address</th>
              <th>Client</th>
              <th class="num">Has</th>
              <th class="num">Down</th>
              <th class="num">Up</th>
              <th title="our download from it: our interest, its choke">From it</th>
              <th title="our upload to it: its interest, our choke">To it</th>
              <th>Notes</th>
            </tr>
          </thead>
          <tbody>
            {peers.map((p) => (
              <tr key={p.address}>
                <td data-label="Address" class="mono">{p.address}</td>
                <td data-label="Client">{p.client}</td>
                <td data-label="Has" class="num">{percent(p.progress)}</td>
                <td data-label="Down" class="num down">{rate(p.downloadRate)}</td>
                <td data-label="Up" class="num up">{rate(p.uploadRate)}</td>
                <td data-label="From it">
                  <Direction who="from" interested={p.flags.amInterested} choked={p.flags.peerChoking} />
                </td>
                <td data-label="To it">
                  <Direction who="to" interested={p.flags.peerInterested} choked={p.flags.amChoking} />
                </td>
                <td class="notes" data-label="Notes">
                  {p.flags.optimistic && (
                    <span class="chip opt" title="holds our optimistic unchoke slot: unchoked whatever it gives us, rotated every 30 s">
                      optimistic
                    </span>
                  )}
                  {p.flags.snubbed && (
                    <span class="chip snub" title="sent nothing we asked for in 60 s">
                      snubbed
                    </span>
                  )}
                  <span class="chip plain" title={p.outgoing ? 'we dialled it' : 'it dialled us'}>
                    {p.outgoing ? 'outgoing' : 'incoming'}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="legend muted">
        Data flows from one peer to another only while the receiver is <em>interested</em> and the sender has it <em>unchoked</em> (highlighted). Every 10 s our choker unchokes the peers that upload to us fastest
        (tit-for-tat) and one more chosen at random, the <em>optimistic</em> unchoke, so that newcomers can show what they give.
      </p>
    </>
  );
}
