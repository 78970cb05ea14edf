/**
 * JobLinks: the link state of runner jobs this process drives, in memory ("link lost at 14:02:11, reconnecting
 * (attempt 3)"). Sessions report losses, reconnect attempts and re-attachments; the job views read it, and each
 * change is announced through `onChange` (core: a fresh 'jobs/changed'). It never decides anything about a job.
 */
import type { JobLinkState } from '../../../src-shared/contract/jobs';

export class JobLinks {
  private readonly states = new Map<string, JobLinkState>();

  constructor(private readonly onChange: (jobId: string) => void = () => undefined) {}

  get(jobId: string): JobLinkState | null {
    return this.states.get(jobId) ?? null;
  }

  lost(jobId: string, sinceIso: string, reason: string): void {
    if (this.states.has(jobId)) return;
    this.states.set(jobId, { state: 'lost', since: sinceIso, reason, attempt: 0 });
    this.onChange(jobId);
  }

  attempt(jobId: string, attempt: number): void {
    const s = this.states.get(jobId);
    if (!s || s.attempt === attempt) return;
    this.states.set(jobId, { ...s, attempt });
    this.onChange(jobId);
  }

  /** Re-attached, or the session ended: no link state any more. */
  clear(jobId: string): void {
    if (this.states.delete(jobId)) this.onChange(jobId);
  }
}
