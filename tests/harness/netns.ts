/**
 * Test harness: extra "hosts" as Linux network namespaces, each joined by a veth to one bridge in the root namespace
 * (10.200.0.1/16), so tests can run one sshd per host and cut or black-hole a host's link mid-stream.
 * Addresses stay inside 10.200.0.0/16 and only our own namespaces use them; every namespace made here is deleted by
 * destroy()/destroyAll(). Needs root and iproute2 (ip, bridge).
 * Each namespace is stamped with its owner process (leftovers.ts); the first createHost in a process removes the
 * namespaces, processes inside them and veths that a killed earlier run left, and puts the bridge back up with its
 * address, printing one "[test harness] repaired: ..." line for each.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startSshd, type SshdHandle, type SshdOptions } from './sshd';
import { descendantsOf, isAlive, killAll, otherLiveOwners, readStamp, reportRepair, selfStamp, writeStamp } from './leftovers';

const execFileAsync = promisify(execFile);

const BRIDGE = 'crbr0';
/** One owner stamp per namespace: `<ns>.json` with the owner's identity and the namespace's root-side veth. */
const STAMP_DIR = '/run/cronium-test-harness/netns';
const NS_PREFIX = 'cronium-';
const ROOT_VETH = /^vcr\d+[ab]$/;
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
  const existed = await succeeds(['link', 'show', BRIDGE]);
  if (!existed) {
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
  if (existed && !/[<,]UP[,>]/.test(await ip(['-o', 'link', 'show', BRIDGE]))) reportRepair(`bridge ${BRIDGE} was down: set up`);
  await ip(['link', 'set', BRIDGE, 'up']);
}

export function addressFor(index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > MAX_INDEX) {
    throw new Error(`host index ${index} is out of range: use 1..${MAX_INDEX}`);
  }
  return `10.200.${1 + Math.floor((index - 1) / 250)}.${((index - 1) % 250) + 1}`;
}

const liveHosts = new Set<NetHostImpl>();

const stampFile = (ns: string) => path.join(STAMP_DIR, `${ns}.json`);

async function namespaces(): Promise<string[]> {
  return (await ip(['netns', 'list'])).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n !== '');
}

/** Kills every process inside the namespace (and their children), deletes its veth and the namespace itself. */
async function removeNamespace(ns: string, rootVeth: string | undefined, why: string): Promise<void> {
  const pids = (await ip(['netns', 'pids', ns]).catch(() => ''))
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
  const killed = killAll(pids.flatMap((pid) => [pid, ...descendantsOf(pid)]));
  if (rootVeth && (await succeeds(['link', 'show', rootVeth]))) await ip(['link', 'del', rootVeth]).catch(() => undefined);
  await ip(['netns', 'del', ns]);
  fs.rmSync(stampFile(ns), { force: true });
  reportRepair(`network namespace ${ns} ${why}${killed.length ? `: killed ${killed.length} processes in it (${killed.join(', ')})` : ''}, deleted`);
}

/**
 * Once per process, before its first host: namespaces whose owner is gone (or unstamped ones when no other harness
 * process is alive) are removed with everything in them, then root-side veths no live namespace accounts for.
 */
function sweepLeftovers(): Promise<void> {
  sweep ??= removeLeftovers();
  return sweep;
}
let sweep: Promise<void> | undefined;

/** The sweep itself, run now (tests call it directly; createHost runs it once per process). */
export async function removeLeftovers(): Promise<void> {
  fs.mkdirSync(STAMP_DIR, { recursive: true, mode: 0o755 });
  const othersAlive = otherLiveOwners().length > 0;
  const keptVeths = new Set<string>();
  for (const ns of await namespaces()) {
    if (!ns.startsWith(NS_PREFIX)) continue;
    const stamp = readStamp<{ rootVeth?: string }>(stampFile(ns));
    if (stamp ? isAlive(stamp) : othersAlive) {
      if (stamp?.rootVeth) keptVeths.add(stamp.rootVeth);
      continue;
    }
    await removeNamespace(ns, stamp?.rootVeth, stamp ? `of an earlier run (owner ${stamp.pid} is gone)` : 'of an earlier run');
  }
  if (othersAlive) return; // an unstamped veth may belong to a live older harness
  const links = await ip(['-o', 'link', 'show', 'type', 'veth']);
  for (const line of links.split('\n')) {
    const name = /^\d+:\s+([^@:]+)/.exec(line)?.[1];
    if (!name || !ROOT_VETH.test(name) || keptVeths.has(name)) continue;
    if (!(await succeeds(['link', 'show', name]))) continue; // went with its peer
    await ip(['link', 'del', name]).catch(() => undefined);
    reportRepair(`veth ${name} of an earlier run deleted`);
  }
}

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
    fs.rmSync(stampFile(this.name), { force: true });
    liveHosts.delete(this);
  }
}

/**
 * A namespace `cronium-<name>` at addressFor(index). A leftover namespace of that name (its owner process is gone) is
 * removed with the processes still inside it; one owned by a live process is refused, since another test owns it.
 */
export async function createHost(name: string, index: number): Promise<NetHost> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('network namespaces need root: run the integration tests as root');
  }
  const ns = `cronium-${name}`;
  const address = addressFor(index);
  const rootVeth = `vcr${index}a`;
  const nsVeth = `vcr${index}b`;
  await sweepLeftovers();
  await ensureBridge();

  if ((await namespaces()).includes(ns)) {
    const stamp = readStamp(stampFile(ns));
    const inUse = (await ip(['netns', 'pids', ns])).trim() !== '';
    if (stamp && isAlive(stamp)) {
      const who = stamp.pid === selfStamp().pid ? 'this process already made it' : `process ${stamp.pid} owns it`;
      throw new Error(`network namespace ${ns} already exists: ${who}`);
    }
    if (!stamp && inUse) {
      throw new Error(`network namespace ${ns} already exists and has processes in it: another test owns it`);
    }
    await removeNamespace(ns, rootVeth, 'was left by an earlier run');
  }
  if (await succeeds(['link', 'show', rootVeth])) {
    await ip(['link', 'del', rootVeth]);
    reportRepair(`veth ${rootVeth} of an earlier run deleted`);
  }

  await ip(['netns', 'add', ns]);
  writeStamp(stampFile(ns), { rootVeth });
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
