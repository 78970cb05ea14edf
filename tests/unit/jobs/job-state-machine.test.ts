// The one job/log state machine: every allowed move listed here is accepted, every other pair is refused.
import { describe, expect, it } from 'vitest';
import { JobStatus } from '../../../src-shared/contract/jobs';
import { LogStatus } from '../../../src-shared/contract/logs';
import { assertJobTransition, assertLogTransition, canMoveJob, canMoveLog } from '../../../src-main/core/jobs/job-state-machine';
import { ErrorCode } from '../../../src-shared/errors';

const JOB_ALLOWED = new Set([
  'QUEUED>DISPATCHING', 'QUEUED>FAILURE', 'QUEUED>CANCELLED',
  'DISPATCHING>RUNNING', 'DISPATCHING>QUEUED', 'DISPATCHING>FAILURE', 'DISPATCHING>CANCELLED', 'DISPATCHING>TIMEOUT',
  'RUNNING>QUEUED', 'RUNNING>SUCCESS', 'RUNNING>FAILURE', 'RUNNING>TIMEOUT', 'RUNNING>CANCELLED', 'RUNNING>PARTIAL',
]);
const LOG_ALLOWED = new Set([
  'PENDING>RUNNING', 'PENDING>STREAMING', 'PENDING>SUCCESS', 'PENDING>FAILURE', 'PENDING>TIMEOUT', 'PENDING>CANCELLED', 'PENDING>PARTIAL',
  'RUNNING>SUCCESS', 'RUNNING>FAILURE', 'RUNNING>TIMEOUT', 'RUNNING>CANCELLED', 'RUNNING>PARTIAL',
  'STREAMING>SUCCESS', 'STREAMING>FAILURE', 'STREAMING>TIMEOUT', 'STREAMING>CANCELLED', 'STREAMING>PARTIAL',
  'PARTIAL>STREAMING', 'PARTIAL>SUCCESS', 'PARTIAL>FAILURE', 'PARTIAL>TIMEOUT', 'PARTIAL>CANCELLED',
]);

describe('the job state machine', () => {
  for (const from of JobStatus.options) {
    for (const to of JobStatus.options) {
      const allowed = JOB_ALLOWED.has(`${from}>${to}`);
      it(`${allowed ? 'allows' : 'refuses'} a job ${from} -> ${to}`, () => {
        expect(canMoveJob(from, to)).toBe(allowed);
        if (allowed) expect(() => assertJobTransition(from, to, 'j1')).not.toThrow();
        else expect(() => assertJobTransition(from, to, 'j1')).toThrow(expect.objectContaining({ code: ErrorCode.JOB_STATE_INVALID }));
      });
    }
  }

  describe('when a job has ended', () => {
    it('says so in the refusal', () => {
      expect(() => assertJobTransition('SUCCESS', 'RUNNING', 'j1')).toThrow(/j1 cannot go from SUCCESS to RUNNING; it has already ended/);
    });
  });
});

describe('the log state machine', () => {
  for (const from of LogStatus.options) {
    for (const to of LogStatus.options) {
      const allowed = LOG_ALLOWED.has(`${from}>${to}`);
      it(`${allowed ? 'allows' : 'refuses'} a log ${from} -> ${to}`, () => {
        expect(canMoveLog(from, to)).toBe(allowed);
        if (allowed) expect(() => assertLogTransition(from, to, 'l1')).not.toThrow();
        else expect(() => assertLogTransition(from, to, 'l1')).toThrow(expect.objectContaining({ code: ErrorCode.LOG_STATE_INVALID }));
      });
    }
  }
});
