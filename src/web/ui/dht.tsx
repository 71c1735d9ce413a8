import type { DhtView } from '../api-types.js';
import { api } from './api.js';
import { shortHash } from './format.js';
import { Stat, usePoll } from './widgets.js';

/* The DHT node (BEP 5): its routing table, and what it stores for others (announced peers, BEP 44 items). */

const load = (): Promise<DhtView> => api<DhtView>('GET', '/api/dht');

export function DhtPage() {
  const { data, error } = usePoll(load, 3000);
  return (
    <section>
      <div class="page-head">
        <h1>DHT</h1>
      </div>
      {error !== null && <p class="t-error">{error}</p>}
      {data === null ? null : !data.enabled ? (
        <p class="empty">The DHT is off (the daemon was started with --no-dht): torrents find peers through their trackers and peer exchange only.</p>
      ) : (
        <DhtBody d={data} />
      )}
    </section>
  );
}

function DhtBody({ d }: { d: DhtView }) {
  const s = d.stats!;
  return (
    <>
      <p class="muted">
        Node <code>{d.id}</code> on UDP port {d.port}
        {d.externalAddress ? `, seen from outside as ${d.externalAddress}` : ''}. Each node keeps the nodes whose ids are close to its own by XOR, up to 8 per distance; a lookup walks towards the key through them.
      </p>
      <div class="stats">
        <Stat label="nodes known">{s.nodes}</Stat>
        <Stat label="buckets">{s.buckets}</Stat>
        <Stat label="torrents stored">{s.torrents}</Stat>
        <Stat label="peers stored">{s.peers}</Stat>
        <Stat label="items stored">{s.items}</Stat>
        <Stat label="queries sent">{s.queriesSent}</Stat>
        <Stat label="queries received">{s.queriesReceived}</Stat>
        <Stat label="timeouts">{s.timeouts}</Stat>
      </div>
      <div class="columns">
        <div>
          <h2>Routing table</h2>
          {d.nodes!.length === 0 ? (
            <p class="muted">No nodes yet: the node joins through the bootstrap nodes (see --bootstrap).</p>
          ) : (
            <div class="table-wrap">
              <table class="grid" aria-label="DHT nodes">
                <thead>
                  <tr>
                    <th>Node id</th>
                    <th>Address</th>
                    <th class="num" title="log2 of the XOR distance to our id: the bucket">Distance</th>
                  </tr>
                </thead>
                <tbody>
                  {d.nodes!.map((n) => (
                    <tr key={n.id + n.address}>
                      <td class="mono" title={n.id}>
                        {shortHash(n.id)}
                      </td>
                      <td class="mono">{n.address}</td>
                      <td class="num">2^{n.distance}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
        <div>
          <h2>Stored for others</h2>
          {d.torrents!.length === 0 && d.items!.length === 0 ? (
            <p class="muted">Nothing yet. Nodes announce their torrents (announce_peer) and put values (BEP 44) to the nodes closest to the key.</p>
          ) : (
            <div class="table-wrap">
              <table class="grid" aria-label="DHT storage">
                <thead>
                  <tr>
                    <th>Key</th>
                    <th>What</th>
                  </tr>
                </thead>
                <tbody>
                  {d.torrents!.map((t) => (
                    <tr key={t.infoHash}>
                      <td class="mono" title={t.infoHash}>
                        {shortHash(t.infoHash)}
                      </td>
                      <td>
                        torrent: {t.peers} {t.peers === 1 ? 'peer' : 'peers'}
                      </td>
                    </tr>
                  ))}
                  {d.items!.map((i) => (
                    <tr key={i.target}>
                      <td class="mono" title={i.target}>
                        {shortHash(i.target)}
                      </td>
                      <td>
                        {i.kind} item, {i.bytes} bytes{i.seq !== null ? `, seq ${i.seq}` : ''}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      </div>
    </>
  );
}
