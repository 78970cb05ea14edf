/**
 * SingleFlight: concurrent calls with the same key share one run of the work and its outcome; the next call after it
 * settles starts a new run. Used for the get-or-create steps of the execution path (runner ready on a server, a
 * payload built, a payload on a server), so forty jobs starting at once do the work once per key.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const started = Promise.resolve()
      .then(work)
      .finally(() => {
        if (this.inFlight.get(key) === started) this.inFlight.delete(key);
      });
    this.inFlight.set(key, started);
    return started;
  }

  get size(): number {
    return this.inFlight.size;
  }
}
