/*
 * A FIFO queue for the simulator's hot paths (send buffers, links' round
 * robin rings, packets in flight). Array#shift is O(n) on long arrays; this
 * keeps a head index and compacts the array only when the dead prefix is
 * at least half of it, so push and shift are O(1) amortized.
 */

export class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** Replace the oldest item (a send buffer keeps the unsent rest of a split write there). */
  replaceHead(item: T): void {
    if (this.head < this.items.length) this.items[this.head] = item;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T; // let the garbage collector have it
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
