/**
 * TargetProbe: what runner mode needs on one server, checked for the migration wizard without deploying anything:
 * the deployer's own probe (OS and architecture, free disk, Node, a sha256 tool, an executable home), the artifact
 * this app would deploy there and its size, and whether sshd allows the runner's reverse tunnel (a TCP port or a
 * Unix socket: each is asked for once and given back at once). Blockers are sentences saying what to do. It never
 * uploads a byte and leaves nothing behind on the server (the probe socket is removed).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock';
import { isAppError, messageOf } from '../errors';
import type { SettingsService } from '../settings/settings-service';
import { SshErrorCode } from '../ssh/errors';
import { shellQuote } from '../ssh/shell-quote';
import type { SshPool } from '../ssh/ssh-pool';
import type { ArtifactStore } from '../runners/artifact-store';
import type { RunnerService } from '../runners/runner-service';
import { REMOTE_RUNNERS_DIR } from '../runners/runner-deployer';
import { rangeProblem } from '../runners/runner-version-policy';
import type { MigrationTargetView } from '../../../src-shared/contract/rollout';

/** Headroom beyond the artifact, as the deployer keeps it (the .gz and the unpacked file coexist while unpacking). */
const DISK_MARGIN_BYTES = 4 * 1024 * 1024;
const PROBE_TIMEOUT_MS = 30_000;
const MB = 1024 * 1024;

export interface TargetProbeDeps {
  ssh: Pick<SshPool, 'acquire' | 'exec'>;
  runners: Pick<RunnerService, 'deployer' | 'deployments' | 'range' | 'ready'>;
  artifacts: Pick<ArtifactStore, 'pick'>;
  settings: Pick<SettingsService, 'current'>;
  clock: Clock;
}

export class TargetProbe {
  constructor(private readonly deps: TargetProbeDeps) {}

  async probe(serverId: string, serverName: string): Promise<MigrationTargetView> {
    const view: MigrationTargetView = {
      serverId, serverName, reachable: false, os: null, arch: null, freeMb: null, neededMb: null,
      tcpForwarding: null, unixSocketForwarding: null, runnerVersion: null, blockers: [], notes: [],
    };
    const controller = new AbortController();
    const timer = this.deps.clock.setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
    try {
      const probe = await this.deps.runners.deployer.probe(serverId, serverName, controller.signal, this.deps.clock.now() + PROBE_TIMEOUT_MS);
      view.reachable = true;
      view.os = probe.os;
      view.arch = probe.arch;
      view.freeMb = probe.freeBytes === null ? null : Math.floor(probe.freeBytes / MB);
      if (!probe.canExec) view.blockers.push(`${serverName} cannot execute files in ${probe.home}/${REMOTE_RUNNERS_DIR} (noexec or not writable): remount it without noexec.`);
      if (!probe.shaTool) view.blockers.push(`${serverName} has none of sha256sum, shasum or openssl, so the runner cannot be verified there: install coreutils.`);

      await this.runnerFits(serverId, serverName, probe, view);
      await this.forwarding(serverId, serverName, probe.home, view);
    } catch (err) {
      view.blockers.push(`${serverName} could not be checked: ${messageOf(err)}`);
    } finally {
      timer.cancel();
    }
    return view;
  }

  /** The runner this app would use there: one already deployed in range, or the artifact it would deploy and its size. */
  private async runnerFits(serverId: string, serverName: string, probe: { os: string; arch: string; nodeVersion: string | null; freeBytes: number | null; hasGzip: boolean; unameS: string; unameM: string }, view: MigrationTargetView): Promise<void> {
    const target = this.deps.settings.current().runner.defaultVersion;
    const active = await this.deps.runners.deployments.active(serverId);
    view.runnerVersion = active?.version ?? null;
    if (active && !rangeProblem({ version: active.version, protocolVersion: active.metadata.protocolVersion }, this.deps.runners.range) && active.version === target) {
      view.neededMb = 0;
      view.notes.push(`runner ${active.version} is already deployed on ${serverName}; nothing to transfer`);
      return;
    }
    await this.deps.runners.ready();
    try {
      const artifact = await this.deps.artifacts.pick({ os: probe.os, arch: probe.arch, nodeVersion: probe.nodeVersion, version: target });
      const needed = (probe.hasGzip ? artifact.compressedSize : artifact.size) + artifact.size + DISK_MARGIN_BYTES;
      view.neededMb = Math.ceil(needed / MB);
      view.notes.push(`runner ${artifact.version} (${artifact.kind === 'sea' ? `single executable for ${artifact.os}-${artifact.arch}` : 'JS, run by the server\'s Node'}) will be deployed to ~/${REMOTE_RUNNERS_DIR} on ${serverName} at the first run`);
      if (probe.freeBytes !== null && probe.freeBytes < needed) {
        view.blockers.push(`${serverName} has ${Math.floor(probe.freeBytes / MB)} MB free where the runner goes and needs ${view.neededMb} MB: free some disk space.`);
      }
    } catch (err) {
      view.blockers.push(`no runner ${target} fits ${serverName} (${probe.unameS} ${probe.unameM}${probe.nodeVersion ? `, Node ${probe.nodeVersion}` : ', no Node'}): ${messageOf(err)}`);
    }
  }

  /** Asks sshd for each kind of reverse forward once and gives it back: the runner's stream needs one of them. */
  private async forwarding(serverId: string, serverName: string, home: string, view: MigrationTargetView): Promise<void> {
    const connection = await this.deps.ssh.acquire(serverId);
    const refused = (err: unknown) => isAppError(err) && err.code === SshErrorCode.FORWARD_REFUSED;
    try {
      const tunnel = await connection.forwardIn('127.0.0.1', 0, (stream) => stream.close());
      await tunnel.close();
      view.tcpForwarding = true;
    } catch (err) {
      if (!refused(err)) throw err;
      view.tcpForwarding = false;
    }
    const socketPath = `${home}/.cronium/.forward-probe-${randomBytes(6).toString('hex')}.sock`;
    try {
      const tunnel = await connection.forwardInStreamLocal(socketPath, (stream) => stream.close());
      await tunnel.close();
      view.unixSocketForwarding = true;
    } catch (err) {
      if (!refused(err)) throw err;
      view.unixSocketForwarding = false;
    } finally {
      await this.deps.ssh.exec(serverId, `rm -f ${shellQuote(socketPath)}`, { timeoutMs: PROBE_TIMEOUT_MS }).catch(() => undefined);
    }
    if (!view.tcpForwarding && !view.unixSocketForwarding) {
      view.blockers.push(`${serverName} refuses both TCP and Unix-socket forwarding, and the runner streams its job back through one of them: set AllowStreamLocalForwarding (or AllowTcpForwarding) to yes or remote in its sshd_config.`);
    } else if (!view.unixSocketForwarding) {
      view.notes.push(`${serverName} refuses Unix-socket forwarding: the runner's tunnel will end on a loopback TCP port there`);
    } else {
      view.notes.push(`the runner's tunnel will end on a Unix socket in the job's own folder on ${serverName}`);
    }
  }
}
