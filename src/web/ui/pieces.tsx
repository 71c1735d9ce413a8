import { useEffect, useRef, useState } from 'preact/hooks';
import { bytes } from './format.js';

/*
 * The piece map: one square per piece, ours in green, the others coloured by
 * how many connected peers have them (the availability the piece picker
 * sorts by). Rarest first shows as green appearing in the warm, rare
 * squares before the cool, common ones; pieces nobody connected has are
 * grey, and no one can give them to us.
 */

const OURS = '#22a06b';
const NOBODY = '#d5d9e0';

/** Rare is warm (amber), common is cool (indigo): hue from 38° to 235° as availability goes from 1 to the most seen. */
export function availabilityColour(copies: number, most: number): string {
  if (copies <= 0) return NOBODY;
  const f = most <= 1 ? 0 : (copies - 1) / (most - 1);
  const hue = 38 + f * (235 - 38);
  return `hsl(${hue.toFixed(0)} ${(85 - f * 25).toFixed(0)}% ${(55 - f * 5).toFixed(0)}%)`;
}

export function PieceMap({ have, availability, pieceLength }: { have: string; availability: readonly number[]; pieceLength: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [hover, setHover] = useState<number | null>(null);
  const n = have.length;
  const most = Math.max(1, ...availability);
  // Squares of 6 to 18 px, as large as fit in about 360 px of height.
  const cell = width === 0 || n === 0 ? 12 : Math.max(6, Math.min(18, Math.floor(Math.sqrt((width * 360) / n))));
  const cols = Math.max(1, Math.floor(width / cell));
  const rows = Math.ceil(n / cols);

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const c = canvas.current;
    if (c === null || width === 0) return;
    const dpr = devicePixelRatio || 1;
    c.width = cols * cell * dpr;
    c.height = rows * cell * dpr;
    c.style.width = `${cols * cell}px`;
    c.style.height = `${rows * cell}px`;
    const g = c.getContext('2d');
    if (g === null) return;
    g.scale(dpr, dpr);
    const gap = cell >= 10 ? 2 : 1;
    for (let i = 0; i < n; i++) {
      g.fillStyle = have[i] === '1' ? OURS : availabilityColour(availability[i] ?? 0, most);
      g.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell - gap, cell - gap);
    }
  }, [have, availability, width, cell, cols, rows, n, most]);

  const ours = [...have].filter((c) => c === '1').length;
  const missing = availability.map((a, i) => (have[i] === '1' ? -1 : a)).filter((a) => a >= 0);
  const rarest = missing.filter((a) => a > 0);
  const minCopies = rarest.length > 0 ? Math.min(...rarest) : 0;
  const nobody = missing.filter((a) => a === 0).length;
  const onMove = (e: MouseEvent): void => {
    const rect = canvas.current!.getBoundingClientRect();
    const i = Math.floor((e.clientY - rect.top) / cell) * cols + Math.floor((e.clientX - rect.left) / cell);
    setHover(i >= 0 && i < n ? i : null);
  };
  return (
    <div class="pieces">
      <p class="pieces-summary">
        <strong>{ours}</strong> of {n} pieces ({bytes(pieceLength)} each) verified.{' '}
        {missing.length > 0 && (
          <>
            Of the {missing.length} missing, {rarest.length > 0 ? <>the rarest are on {minCopies} {minCopies === 1 ? 'peer' : 'peers'}, </> : null}
            {nobody > 0 ? `${nobody} on no connected peer` : 'every one is on some peer'}.
          </>
        )}
      </p>
      <div class="piece-box" ref={box}>
        <canvas ref={canvas} class="piece-map" role="img" aria-label={`piece map: ${ours} of ${n} pieces verified`} onMouseMove={onMove} onMouseLeave={() => setHover(null)} />
      </div>
      <p class="hover muted" aria-live="off">
        {hover === null ? 'Point at a piece to see it.' : `Piece ${hover}: ${have[hover] === '1' ? 'verified, ours' : `${availability[hover] ?? 0} connected ${(availability[hover] ?? 0) === 1 ? 'peer has' : 'peers have'} it`}`}
      </p>
      <div class="piece-legend" aria-label="legend">
        <span>
          <i style={{ background: OURS }} /> ours
        </span>
        <span>
          <i style={{ background: NOBODY }} /> on no peer
        </span>
        <span class="scale">
          {most === 1 ? (
            <>
              <i style={{ background: availabilityColour(1, 1) }} /> on 1 peer
            </>
          ) : (
            <>
              on 1 peer (rare)
              {Array.from({ length: Math.min(most, 8) }, (_, k) => {
                const copies = most <= 8 ? k + 1 : Math.round(1 + (k * (most - 1)) / 7);
                return <i key={k} style={{ background: availabilityColour(copies, most) }} title={`${copies} peers`} />;
              })}
              on {most} (common)
            </>
          )}
        </span>
      </div>
      <p class="legend muted">
        Rarest first (Cohen, 2003): among the pieces a peer can give us, we ask for the one the fewest of our peers have, so the rare pieces spread before anyone leaves with them. The first few pieces
        are picked at random instead, to have something to trade soon.
      </p>
    </div>
  );
}
