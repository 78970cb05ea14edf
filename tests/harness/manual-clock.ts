/**
 * ManualClock: a Clock whose time moves only when a test says so, for the scheduler, retries and anything else that
 * waits. advance() walks through the timers in order (time passing with the app awake); jump() moves time first and
 * then fires whatever is overdue (the machine slept). It never reads the real clock.
 */
import type { Clock } from '../../src-main/core/clock';

interface PendingTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets promise chains started by fired timers run to their next real wait. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class ManualClock implements Clock {
  private current: number;
  private timers: PendingTimer[] = [];
  private nextId = 1;

  constructor(start: Date | string | number) {
    this.current = new Date(start).getTime();
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return { cancel: () => (this.timers = this.timers.filter((t) => t.id !== timer.id)) };
  }

  /** Timers waiting (tests check that nothing piles up: the scheduler keeps one). */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Time passes with the app awake: each timer fires at its own time, in order, and its work settles before the next. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const due = this.earliestDue(target);
      if (!due) break;
      this.current = Math.max(this.current, due.at);
      this.timers = this.timers.filter((t) => t.id !== due.id);
      due.fn();
      await settle();
    }
    this.current = target;
    await settle();
  }

  /** The machine slept (or the wall clock was changed): time moves at once, then overdue timers fire late. */
  async jump(ms: number): Promise<void> {
    this.current += ms;
    await this.advance(0);
  }

  /** Sets the time without firing anything (the app was closed meanwhile). */
  set(to: Date | string | number): void {
    this.current = new Date(to).getTime();
  }

  private earliestDue(target: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers) if (t.at <= target && (!best || t.at < best.at)) best = t;
    return best;
  }
}
