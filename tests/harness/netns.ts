/**
 * Test harness: extra "hosts" as Linux network namespaces, each joined by a veth to one bridge in the root namespace
 * (10.200.0.1/16), so tests can run one sshd per host and cut or black-hole a host's link mid-stream.
 * Addresses stay inside 10.200.0.0/16 and only our own namespaces use them; every namespace made here is deleted by
 * destroy()/destroyAll(). Needs root and iproute2 (ip, bridge).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startSshd, type SshdHandle, type SshdOptions } from './sshd';

const execFileAsync = promisify(execFile);

const BRIDGE = 'crbr0';
const BRIDGE_ADDRESS = '10.200.0.1/16';
const MAX_INDEX = 250 * 200;

export interface NetHost {
  /** The namespace's name (`cronium-<name>`). */
  readonly name: string;
  /** Its address on the bridge, reachable from the root namespace. */
  readonly address: string;
  /** An sshd inside the namespace, listening on address:22 unless opts.port says otherwise. */
  startSshd(opts?: Omit<SshdOptions, 'netns' | 'listenAddress'>): Promise<SshdHandle>;
  /** Link down: connections fail fast (no route / unreachable); recovers about 0.2 s after restoreLink(). */
  cutLink(): Promise<void>;
  restoreLink(): Promise<void>;
  /** Silent drop at the bridge port: packets vanish, TCP backs off; data returns seconds after unblackhole(). */
  blackhole(): Promise<void>;
  unblackhole(): Promise<void>;
  destroy(): Promise<void>;
}

async function ip(args: string[], cmd = 'ip'): Promise<string> {
  try {
    return (await execFileAsync(cmd, args)).stdout;
  } catch (err: any) {
    if (err?.code === 'ENOENT') {
      throw new Error(`${cmd} is not installed: run scripts/setup.sh or apt-get install -y iproute2`);
    }
    throw new Error(`${cmd} ${args.join(' ')} failed: ${String(err?.stderr ?? err?.message).trim()}`);
  }
}

async function succeeds(args: string[]): Promise<boolean> {
  try {
    await execFileAsync('ip', args);
    return true;
  } catch {
    return false;
  }
}

/** Idempotent, and safe when another test process creates the bridge at the same moment. */
async function ensureBridge(): Promise<void> {
  if (!(await succeeds(['link', 'show', BRIDGE]))) {
    try {
      await ip(['link', 'add', BRIDGE, 'type', 'bridge']);
    } catch (err) {
      if (!(await succeeds(['link', 'show', BRIDGE]))) throw err;
    }
  }
  const addresses = await ip(['-o', 'addr', 'show', 'dev', BRIDGE]);
  if (!addresses.includes(BRIDGE_ADDRESS.split('/')[0]!)) {
    try {
      await ip(['addr', 'add', BRIDGE_ADDRESS, 'dev', BRIDGE]);
    } catch (err) {
      if (!/File exists/.test(String(err))) throw err;
    }
  }
  await ip(['link', 'set', BRIDGE, 'up']);
}

export function addressFor(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > MAX_INDEX) {
    throw new Error(`host index ${index} is out of range: use 1..${MAX_INDEX}`);
  }
  return `10.200.${1 + Math.floor((index - 1) / 250)}.${((index - 1) % 250) + 1}`;
}

const liveHosts = new Set<NetHostImpl>();

class NetHostImpl implements NetHost {
  private readonly sshds: SshdHandle[] = [];
  constructor(
    readonly name: string,
    readonly address: string,
    /** The veth end in the root namespace, attached to the bridge: the one we cut. */
    private readonly rootVeth: string,
  ) {}

  async startSshd(opts: Omit<SshdOptions, 'netns' | 'listenAddress'> = {}): Promise<SshdHandle> {
    const sshd = await startSshd({ ...opts, netns: this.name, listenAddress: this.address });
    this.sshds.push(sshd);
    return sshd;
  }
  async cutLink() {
    await ip(['link', 'set', this.rootVeth, 'down']);
  }
  async restoreLink() {
    await ip(['link', 'set', this.rootVeth, 'up']);
  }
  async blackhole() {
    await ip(['link', 'set', 'dev', this.rootVeth, 'state', '0'], 'bridge');
  }
  async unblackhole() {
    await ip(['link', 'set', 'dev', this.rootVeth, 'state', '3'], 'bridge');
  }
  async destroy() {
    for (const sshd of this.sshds.splice(0)) await sshd.stop();
    // Delete the veth pair ourselves: a deleted namespace frees its devices only later, asynchronously.
    if (await succeeds(['link', 'show', this.rootVeth])) await ip(['link', 'del', this.rootVeth]).catch(() => undefined);
    if (await succeeds(['netns', 'pids', this.name])) await ip(['netns', 'del', this.name]).catch(() => undefined);
    liveHosts.delete(this);
  }
}

/**
 * A namespace `cronium-<name>` at addressFor(index). A leftover namespace of that name with no process inside (from a
 * crashed run) is replaced; one still in use is refused, since another test may own it.
 */
export async function createHost(name: string, index: number): Promise<NetHost> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('network namespaces need root: run the integration tests as root');
  }
  const ns = `cronium-${name}`;
  const address = addressFor(index);
  const rootVeth = `vcr${index}a`;
  const nsVeth = `vcr${index}b`;
  await ensureBridge();

  if ((await ip(['netns', 'list'])).split('\n').some((l) => l.split(' ')[0] === ns)) {
    if ((await ip(['netns', 'pids', ns])).trim() !== '') {
      throw new Error(`network namespace ${ns} already exists and has processes in it: another test owns it`);
    }
    await ip(['netns', 'del', ns]);
  }
  if (await succeeds(['link', 'show', rootVeth])) await ip(['link', 'del', rootVeth]);

  await ip(['netns', 'add', ns]);
  const host = new NetHostImpl(ns, address, rootVeth);
  liveHosts.add(host);
  try {
    await ip(['link', 'add', rootVeth, 'type', 'veth', 'peer', 'name', nsVeth]);
    await ip(['link', 'set', nsVeth, 'netns', ns]);
    await ip(['-n', ns, 'link', 'set', nsVeth, 'name', 'eth0']);
    await ip(['-n', ns, 'addr', 'add', `${address}/16`, 'dev', 'eth0']);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    await ip(['link', 'set', rootVeth, 'master', BRIDGE]);
    await ip(['link', 'set', rootVeth, 'up']);
  } catch (err) {
    await host.destroy();
    throw err;
  }
  return host;
}

/** Destroys every host this process made, then the bridge if no other process still has ports on it. */
export async function destroyAll(): Promise<void> {
  for (const host of [...liveHosts]) await host.destroy();
  if (await succeeds(['link', 'show', BRIDGE])) {
    const ports = (await ip(['-o', 'link', 'show', 'master', BRIDGE])).trim();
    if (ports === '') await ip(['link', 'del', BRIDGE]).catch(() => undefined);
  }
}
