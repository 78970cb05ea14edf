/**
 * A job's folder on the server (~/.cronium/jobs/<jobId>/) and its state file, the record every runner process reads
 * to know which jobs are queued, running or finished. It owns the state file's format; it never deletes a job folder
 * (the spool in it is what makes replay after a disconnect possible).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HelperCall } from '../src-shared/protocol/runner-wire';
import { jobsRoot } from './paths';

/** File holding a job's JobStateRecord as JSON; written via a temporary file and rename, so readers never see half. */
export const JOB_STATE_FILE = 'state.json';

export type JobState = 'queued' | 'running' | 'exited';

export interface JobStateRecord {
  state: JobState;
  /** Process group of the script while running, so `cancel` and `status` can find it. */
  pid?: number;
  exitCode?: number | null;
  signal?: string | null;
  updatedAt: string;
  /** The `run` process supervising the job (signalled by `attach`). */
  supervisorPid?: number;
  /** Payload checksum the job runs. */
  payload?: string;
  startedAt?: string;
  durationMs?: number;
  /** Last sequence number spooled when the script ended. */
  lastSeq?: number;
  /** Set by the output() / setCondition() helpers, reported again with the exit. */
  output?: unknown;
  condition?: boolean | null;
  /** Why the script could not run at all (bad payload signature, interpreter missing). */
  error?: string;
  /** The app acknowledged every line and the exit: nothing is left to deliver. */
  delivered?: boolean;
  /** Started by the resident runner for a server-held schedule (no app was there). */
  serverFired?: boolean;
  /** setVariable calls of a server-fired job not yet handed to the app (non-secret values only). */
  pendingSets?: HelperCall[];
}

export function writeJobState(dir: string, record: JobStateRecord): void {
  const tmp = path.join(dir, `.${JOB_STATE_FILE}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(record));
  fs.renameSync(tmp, path.join(dir, JOB_STATE_FILE));
}

export function readJobState(dir: string): JobStateRecord | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(dir, JOB_STATE_FILE), 'utf8')) as Partial<JobStateRecord>;
    if (parsed.state === 'queued' || parsed.state === 'running' || parsed.state === 'exited') return parsed as JobStateRecord;
    return null;
  } catch {
    // A folder without a readable state file is a job still being set up or one that was cleaned up mid-read.
    return null;
  }
}

/** Counts the jobs under ~/.cronium/jobs by their state file; folders without one are not counted. */
export function countJobs(env?: NodeJS.ProcessEnv): { queued: number; running: number } {
  const root = jobsRoot(env);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return { queued: 0, running: 0 };
  }
  let queued = 0;
  let running = 0;
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const record = readJobState(path.join(root, entry.name));
    if (record?.state === 'queued') queued++;
    else if (record?.state === 'running') running++;
  }
  return { queued, running };
}
