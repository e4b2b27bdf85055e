/** A bounded history: the newest `capacity` items, the oldest overwritten first. */
export class Ring<T> {
  private readonly items: T[] = []
  /** Where the next item goes once the ring is full. */
  private next = 0

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.items.length
  }

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item)
    else this.items[this.next] = item
    this.next = (this.next + 1) % this.capacity
  }

  /** The item pushed `n` pushes before the newest (0: the newest), if still held. */
  ago(n: number): T | undefined {
    if (n < 0 || n >= this.items.length) return undefined
    return this.items[(this.next - 1 - n + 2 * this.capacity) % this.capacity]
  }

  /** Oldest first. */
  toArray(): T[] {
    if (this.items.length < this.capacity) return this.items.slice()
    return [...this.items.slice(this.next), ...this.items.slice(0, this.next)]
  }
}
