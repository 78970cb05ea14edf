// The execution home's rules (issue 11 item 1, issue 13 item 4), with a stand-in runner service and SSH pool: auto
// falls back with its reason on a runner failure that is not the server's fault; a failure retrying cannot fix
// (unreachable, auth, host key) is thrown as it is, never retried and never a fallback; runner-ssh retries a failure
// that may pass (a dropped link) with backoff; concurrent ensureRunner calls for one server share one call.
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src-main/core/errors';
import { ModePolicy, type ModeRequest } from '../../../src-main/core/execution/mode-policy';
import { RunnerProvisioning, RUNNER_ENSURE_BACKOFF_MS } from '../../../src-main/core/execution/runner-provisioning';
import type { Clock } from '../../../src-main/core/clock';
import type { CompatibleRunner } from '../../../src-main/core/runners/runner-service';

const runner = { deploymentId: 'd1', serverId: 's1', version: '1.0.0', kind: 'js', path: '/x', command: 'x', capabilities: [], protocolVersion: 1 } as unknown as CompatibleRunner;
const unreachable = () => new AppError('HOST_UNREACHABLE', 'cannot reach web-1 (10.0.0.1:22): nothing is listening on that port (ECONNREFUSED); check the host, the port and that sshd is running', { details: { cause: 'ECONNREFUSED' } });

function setup(opts: { connect?: () => Promise<void>; ensure?: () => Promise<CompatibleRunner>; flags?: Record<string, boolean>; fallbackToDirect?: boolean } = {}) {
  const waits: number[] = [];
  const clock: Clock = { now: () => 0, setTimeout: (fn, ms) => { waits.push(ms); queueMicrotask(fn); return { cancel: () => undefined }; } };
  let ensureCalls = 0;
  let connects = 0;
  const provisioning = new RunnerProvisioning({
    clock,
    ssh: { acquire: async () => { connects++; await (opts.connect ?? (async () => undefined))(); return {} as never; } },
    runners: {
      getCompatibleRunner: async () => null,
      ensureRunner: async () => { ensureCalls++; return (opts.ensure ?? (async () => runner))(); },
    },
  });
  const flags: Record<string, boolean> = { ssh_runner_enabled: true, ssh_runner_fallback: true, ssh_runner_streaming_logs: true, ...opts.flags };
  const settings = {
    current: () => ({ runner: { enabled: true, fallbackToDirect: opts.fallbackToDirect ?? true } }) as never,
    flag: (name: string) => flags[name] ?? false,
  };
  const policy = new ModePolicy({ settings: settings as never, provisioning });
  return { policy, provisioning, waits, calls: () => ({ ensureCalls, connects }) };
}

const req = (requestedMode: ModeRequest['requestedMode']): ModeRequest => ({
  jobId: 'j1', trigger: 'manual', requestedMode, eventName: 'backup', serverId: 's1', serverName: 'web-1', runnerRequirements: null,
});

describe('ModePolicy', () => {
  it('auto: runner-ssh with the runner made ready', async () => {
    const { policy } = setup();
    expect(await policy.decide(req('auto'))).toEqual({ mode: 'runner-ssh', runner });
  });

  it('auto: falls back to direct-ssh with the reason when the runner cannot be deployed', async () => {
    const { policy } = setup({ ensure: async () => { throw new AppError('RUNNER_NOT_DEPLOYED', 'no runner is deployed there'); } });
    const d = await policy.decide(req('auto'));
    expect(d).toEqual({ mode: 'direct-ssh', fallbackReason: 'no runner could be used on web-1: no runner is deployed there' });
  });

  it('auto: refuses to fall back when fallback is turned off', async () => {
    const { policy } = setup({ ensure: async () => { throw new AppError('RUNNER_NOT_DEPLOYED', 'no runner'); }, fallbackToDirect: false });
    await expect(policy.decide(req('auto'))).rejects.toThrow(/falling back to direct-ssh is turned off/);
  });

  for (const mode of ['auto', 'runner-ssh'] as const) {
    it(`${mode}: an unreachable server fails at once with the SSH layer's message (no deploy, no retry, no fallback)`, async () => {
      const { policy, calls, waits } = setup({ connect: async () => { throw unreachable(); } });
      const records: unknown[] = [];
      policy.onDecision((r) => records.push(r));
      await expect(policy.decide(req(mode))).rejects.toThrow(unreachable().message);
      expect(calls()).toEqual({ ensureCalls: 0, connects: 1 });
      expect(waits).toEqual([]);
      expect(records).toEqual([{ jobId: 'j1', trigger: 'manual', requestedMode: mode, mode: null, fallbackReason: null, error: unreachable().message, stage: 'start' }]);
    });
  }

  it('runner-ssh: retries a failure that may pass, with backoff, then succeeds', async () => {
    let n = 0;
    const { policy, waits } = setup({ ensure: async () => { if (n++ < 2) throw new AppError('CONNECTION_LOST', 'the connection was lost'); return runner; } });
    expect((await policy.decide(req('runner-ssh'))).mode).toBe('runner-ssh');
    expect(waits).toEqual(RUNNER_ENSURE_BACKOFF_MS);
  });

  it('after the runner failed to start: auto falls back, runner-ssh fails, an unreachable server is never a fallback', () => {
    const { policy } = setup();
    expect(policy.afterRunnerStartFailed(req('auto'), new Error('tunnel refused'))).toEqual({ mode: 'direct-ssh', fallbackReason: 'the runner could not be started on web-1: tunnel refused' });
    expect(() => policy.afterRunnerStartFailed(req('runner-ssh'), new Error('tunnel refused'))).toThrow('the runner could not be started on web-1: tunnel refused');
    expect(() => policy.afterRunnerStartFailed(req('auto'), unreachable())).toThrow(unreachable().message);
  });

  it('direct-ssh never touches the runner; container is refused; runner-ssh with runner mode off is refused', async () => {
    const { policy, calls } = setup({ flags: { ssh_runner_enabled: false } });
    expect(await policy.decide(req('direct-ssh'))).toEqual({ mode: 'direct-ssh' });
    expect(await policy.decide(req('auto'))).toEqual({ mode: 'direct-ssh' });
    await expect(policy.decide(req('container'))).rejects.toMatchObject({ code: 'MODE_UNSUPPORTED' });
    await expect(policy.decide(req('runner-ssh'))).rejects.toMatchObject({ code: 'RUNNER_DISABLED' });
    expect(calls().ensureCalls).toBe(0);
  });

  it('reads the streaming-logs flag', () => {
    expect(setup().policy.streamingLogs()).toBe(true);
    expect(setup({ flags: { ssh_runner_streaming_logs: false } }).policy.streamingLogs()).toBe(false);
  });
});

describe('RunnerProvisioning', () => {
  it('shares one ensureRunner among forty concurrent callers for one server', async () => {
    const { provisioning, calls } = setup({ ensure: () => new Promise((r) => setTimeout(() => r(runner), 20)) });
    const all = await Promise.all(Array.from({ length: 40 }, () => provisioning.ensureRunner('s1', null)));
    expect(all.every((r) => r === runner)).toBe(true);
    expect(calls().ensureCalls).toBe(1);
  });
});
