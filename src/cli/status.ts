/**
 * A long-running node's status on stderr (peerkit dht, directory, flood,
 * superpeer): redrawn in place every 5 seconds on a terminal, a plain line
 * every minute otherwise, so logs stay short.
 */
export class StatusLine {
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private readonly stream = process.stderr;

  start(line: () => string): void {
    const tty = this.stream.isTTY;
    this.timer = setInterval(
      () => {
        if (tty) {
          this.stream.write(`\r${line()}\x1b[K`);
          this.drawn = true;
        } else {
          this.stream.write(`${line()}\n`);
        }
      },
      tty ? 5_000 : 60_000,
    );
  }

  /** A message above the status line. */
  log(message: string): void {
    this.clear();
    this.stream.write(`peerkit: ${message}\n`);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.clear();
  }

  private clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
