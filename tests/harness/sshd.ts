/**
 * Test harness: a private OpenSSH sshd with its own config, host key, port and test users, for integration tests.
 * It never installs anything and never touches the system sshd or its config. Requirements (root, Debian packages):
 *   openssh-server (/usr/sbin/sshd), openssh-client (ssh-keygen), passwd (useradd, usermod, chpasswd), iproute2 for
 *   netns.ts. A missing piece fails with the package to install ("run scripts/setup.sh or apt-get install -y ...").
 *
 * Test users exist once per machine with fixed names: cronium-key (key only), cronium-pw (password only) and
 * cronium-k1..kN (extra key users). Every sshd start gets fresh keys; authorized keys live in the instance's own folder
 * (AuthorizedKeysFile), so several sshd instances (other test files, other namespaces) never overwrite each other's.
 * The password user's password is random, made once per machine, kept in a root-only file (concurrent test processes
 * must agree on it).
 *
 * A user that already exists is never trusted as found: every start verifies each user it uses (home folder present,
 * a directory, owned by the user, not group/world writable; login shell; password or key-only state; no expiry) and
 * repairs what is wrong, printing one "[test harness] repaired: ..." line per repair. The first start in a process also
 * removes what a killed earlier run left (see leftovers.ts): its sshd instances and their folders, and processes of
 * the test users (detached runners) when no other harness process is alive.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { freePort, waitForPort } from './ports';
import {
  descendantsOf,
  isAlive,
  killAll,
  otherLiveOwners,
  parentPid,
  processesOfUids,
  readStamp,
  reportRepair,
  writeStamp,
} from './leftovers';

const execFileAsync = promisify(execFile);

const SSHD = '/usr/sbin/sshd';
/** Root-owned and not group/world writable: StrictModes checks every folder above an AuthorizedKeysFile. */
const STATE_ROOT = '/run/cronium-test-sshd';
const SECRETS_DIR = '/var/lib/cronium-test-harness';
export const KEY_USER = 'cronium-key';
export const PASSWORD_USER = 'cronium-pw';
const extraUserName = (i: number) => `cronium-k${i}`;

export interface SshdKeyUser {
  username: string;
  privateKey: string;
  publicKey: string;
  home: string;
}
export interface SshdPasswordUser {
  username: string;
  password: string;
  home: string;
}
export interface SshdOptions {
  /** Extra key-only users (cronium-k1..kN), each with its own key pair. */
  users?: number;
  /** Number the extra users from firstUser (default 1): users 2, firstUser 41 -> cronium-k41, cronium-k42 (extraUsers[0], [1]). */
  firstUser?: number;
  listenAddress?: string;
  /** Network namespace to run sshd in (see netns.ts); the port then defaults to 22. */
  netns?: string;
  port?: number;
  /** false: `AllowStreamLocalForwarding no` (Unix-socket forwarding refused, like Dropbear); default yes. */
  allowStreamLocalForwarding?: boolean;
  /** false: `AllowTcpForwarding no` (TCP port forwarding refused, in both directions); default yes. */
  allowTcpForwarding?: boolean;
  /** sshd_config lines appended last (e.g. a `Match User` block with `SetEnv PATH=...`: a server without Node). */
  extraConfig?: string[];
}
export interface SshdHandle {
  readonly host: string;
  readonly port: number;
  /** As OpenSSH prints it: 'SHA256:' + unpadded base64. Changes after regenerateHostKey(). */
  readonly hostKeyFingerprint: string;
  /** The host public key line ('ssh-ed25519 AAAA... comment'). */
  readonly hostPublicKey: string;
  readonly keyUser: SshdKeyUser;
  readonly passwordUser: SshdPasswordUser;
  readonly extraUsers: SshdKeyUser[];
  /** Everything sshd wrote (-e, LogLevel VERBOSE) since start, across restarts. Use log().length as a mark. */
  log(): string;
  /** PID of the listening sshd. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
  /** Same port, same host key, same users' keys; existing connections are dropped. */
  restart(): Promise<void>;
  /** A new host key, then a restart: clients that pinned the old one must refuse. */
  regenerateHostKey(): Promise<void>;
}

const liveInstances = new Set<SshdInstance>();
process.once('exit', () => {
  // A crashed test must not leave sshd listening: kill synchronously (no async work is possible in 'exit').
  for (const instance of liveInstances) instance.killNow();
});

function missing(what: string, pkg: string): Error {
  return new Error(`${what} is not installed: run scripts/setup.sh or apt-get install -y ${pkg}`);
}

function checkRequirements(netns: string | undefined): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the sshd test harness must run as root (it creates test users and runs a private sshd)');
  }
  if (!fs.existsSync(SSHD)) throw missing('openssh-server', 'openssh-server');
  for (const [bin, pkg] of [['ssh-keygen', 'openssh-client'], ['useradd', 'passwd'], ['chpasswd', 'passwd']] as const) {
    if (!onPath(bin)) throw missing(`${bin} (${pkg})`, pkg);
  }
  if (netns !== undefined && !onPath('ip')) throw missing('ip (iproute2)', 'iproute2');
}

function onPath(bin: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  return dirs.some((d) => d !== '' && fs.existsSync(path.join(d, bin)));
}

async function run(cmd: string, args: string[], input?: string): Promise<string> {
  try {
    if (input === undefined) return (await execFileAsync(cmd, args)).stdout;
    return await new Promise<string>((resolve, reject) => {
      const child = execFile(cmd, args, (err, stdout) => (err ? reject(err) : resolve(stdout)));
      child.stdin?.end(input);
    });
  } catch (err: any) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${String(err?.stderr ?? err?.message ?? err).trim()}`);
  }
}

interface PasswdEntry {
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

function passwdEntry(username: string): PasswdEntry | undefined {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${username}:`));
  if (!line) return undefined;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
}

/** The /etc/shadow fields of a user: [name, hash, lastChange, min, max, warn, inactive, expire, reserved]. */
function shadowFields(username: string): string[] | undefined {
  const line = fs.readFileSync('/etc/shadow', 'utf8').split('\n').find((l) => l.startsWith(`${username}:`));
  return line?.split(':');
}

function homeOf(username: string): string {
  const entry = passwdEntry(username);
  if (!entry) throw new Error(`user ${username} has no /etc/passwd entry`);
  return entry.home;
}

function userExists(username: string): boolean {
  return passwdEntry(username) !== undefined;
}

const TEST_SHELL = '/bin/bash';
const HOME_MODE = 0o755;
const SKELETON = '/etc/skel';

/** Gives every file under `dir` (not following links) to uid:gid; returns how many it changed. */
function chownTree(dir: string, uid: number, gid: number): number {
  let changed = 0;
  const visit = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.uid !== uid || st.gid !== gid) {
      fs.lchownSync(p, uid, gid);
      changed++;
    }
    if (st.isDirectory()) for (const entry of fs.readdirSync(p)) visit(path.join(p, entry));
  };
  visit(dir);
  return changed;
}

/** Makes the home folder right: present, a directory, the user's, not group/world writable. Returns the repairs. */
function repairHome(username: string, entry: PasswdEntry): string[] {
  const repairs: string[] = [];
  const home = entry.home;
  let st = fs.lstatSync(home, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) {
    fs.rmSync(home, { force: true });
    repairs.push(`${username}: home ${home} was not a folder: removed`);
    st = undefined;
  }
  if (!st) {
    fs.mkdirSync(home, { recursive: true, mode: HOME_MODE });
    if (fs.existsSync(SKELETON)) fs.cpSync(SKELETON, home, { recursive: true });
    chownTree(home, entry.uid, entry.gid);
    fs.chmodSync(home, HOME_MODE);
    repairs.push(`${username}: home ${home} was missing: recreated from ${SKELETON}, owned by ${username}, mode 0755`);
    return repairs;
  }
  if (st.uid !== entry.uid || st.gid !== entry.gid) {
    const changed = chownTree(home, entry.uid, entry.gid);
    repairs.push(`${username}: home ${home} was owned by uid ${st.uid}: gave ${changed} entries to ${username}`);
  } else {
    // A home recreated by hand (or left by an earlier user of that uid) may hold files of another owner.
    const changed = chownTree(home, entry.uid, entry.gid);
    if (changed > 0) repairs.push(`${username}: ${changed} entries under ${home} had another owner: gave them to ${username}`);
  }
  const mode = st.mode & 0o7777;
  // StrictModes refuses a home writable by group or others; the user must be able to use their own home.
  if ((mode & 0o022) !== 0 || (mode & 0o700) !== 0o700) {
    fs.chmodSync(home, HOME_MODE);
    repairs.push(`${username}: home ${home} had mode 0${mode.toString(8)}: set to 0755`);
  }
  return repairs;
}

/** Login state: key users have the '*' hash (no password, not locked), the password user has the harness's password. */
async function repairLogin(username: string, kind: 'key' | 'password', created: boolean): Promise<string[]> {
  const repairs: string[] = [];
  const fields = shadowFields(username);
  if (!fields) throw new Error(`user ${username} has no /etc/shadow entry: the user database is damaged`);
  const hash = fields[1] ?? '';
  if (kind === 'key') {
    // With UsePAM no, a locked '!' hash blocks even key logins ("account is locked").
    if (hash !== '*') {
      await run('usermod', ['-p', '*', username]);
      if (!created) repairs.push(`${username}: password field was ${hash.startsWith('!') ? 'locked' : 'set'}: made key-only ('*')`);
    }
  } else {
    const password = passwordUserPassword();
    const hashFile = path.join(SECRETS_DIR, `${username}.hash`);
    const expected = fs.existsSync(hashFile) ? fs.readFileSync(hashFile, 'utf8').trim() : undefined;
    if (hash !== expected || hash.startsWith('!') || hash === '' || hash === '*') {
      await run('chpasswd', [], `${username}:${password}\n`);
      fs.writeFileSync(hashFile, shadowFields(username)?.[1] ?? '', { mode: 0o600 });
      if (!created) repairs.push(`${username}: password was not the harness's (${hash.startsWith('!') ? 'locked' : 'changed or unknown'}): set again`);
    }
  }
  // An expiry date or a forced change (last change 0) makes sshd refuse or demand a new password.
  const current = shadowFields(username)!;
  if ((current[7] ?? '') !== '' || current[2] === '0') {
    const today = new Date().toISOString().slice(0, 10);
    await run('chage', ['-E', '-1', '-M', '99999', '-d', today, username]);
    repairs.push(`${username}: account expiry or forced password change was set: cleared`);
  }
  return repairs;
}

/**
 * Creates the user if missing, then verifies and repairs everything a login needs. Runs on every call (one at a time
 * per user), so a home deleted by anything since the last check is back before the next sshd start. Returns the
 * repairs made (each also printed).
 */
export function repairTestUser(username: string, kind: 'key' | 'password'): Promise<string[]> {
  const previous = userChecks.get(username) ?? Promise.resolve([]);
  const next = previous.catch(() => []).then(async () => {
    let created = false;
    if (!userExists(username)) {
      try {
        await run('useradd', ['-m', '-s', TEST_SHELL, username]);
        created = true;
      } catch (err) {
        if (!userExists(username)) throw err;
      }
    }
    const repairs: string[] = [];
    let entry = passwdEntry(username)!;
    const expectedHome = `/home/${username}`;
    if (entry.home !== expectedHome) {
      await run('usermod', ['-d', expectedHome, username]);
      repairs.push(`${username}: home in /etc/passwd was ${entry.home}: set to ${expectedHome}`);
      entry = passwdEntry(username)!;
    }
    if (entry.shell !== TEST_SHELL) {
      await run('usermod', ['-s', TEST_SHELL, username]);
      repairs.push(`${username}: login shell was ${entry.shell || '(none)'}: set to ${TEST_SHELL}`);
    }
    repairs.push(...repairHome(username, entry));
    repairs.push(...(await repairLogin(username, kind, created)));
    for (const line of repairs) reportRepair(line);
    return repairs;
  });
  userChecks.set(username, next);
  return next;
}

const userChecks = new Map<string, Promise<string[]>>();

function ensureUser(username: string, kind: 'key' | 'password'): Promise<void> {
  return repairTestUser(username, kind).then(() => undefined);
}

function passwordUserPassword(): string {
  const file = path.join(SECRETS_DIR, `${PASSWORD_USER}.password`);
  fs.mkdirSync(SECRETS_DIR, { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, crypto.randomBytes(18).toString('base64url'), { flag: 'wx', mode: 0o600 });
  } catch (err: any) {
    if (err?.code !== 'EEXIST') throw err;
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/** Every test user name that exists on this machine (the fixed names and cronium-k<N>). */
function testUserUids(): Set<number> {
  const uids = new Set<number>();
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === KEY_USER || f[0] === PASSWORD_USER || /^cronium-k\d+$/.test(f[0] ?? '')) uids.add(Number(f[2]));
  }
  return uids;
}

function isNodeProcess(pid: number | undefined): boolean {
  if (pid === undefined || pid <= 1) return false;
  try {
    return /node|vitest|playwright/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Removes what a killed earlier run left: sshd instances whose owner process is gone (listener, sessions, folder),
 * then, when no other harness process is alive, every process still running as a test user (detached runners and
 * their jobs). Runs once per process, before its first sshd.
 */
function sweepLeftovers(): Promise<void> {
  sweep ??= removeLeftovers();
  return sweep;
}
let sweep: Promise<void> | undefined;

/** The sweep itself, run now (tests call it directly; startSshd runs it once per process). */
export async function removeLeftovers(): Promise<void> {
  const othersAlive = otherLiveOwners().length > 0;
  for (const entry of fs.existsSync(STATE_ROOT) ? fs.readdirSync(STATE_ROOT) : []) {
    if (!entry.startsWith('sshd-')) continue;
    const dir = path.join(STATE_ROOT, entry);
    const pidText = fs.existsSync(path.join(dir, 'sshd.pid')) ? fs.readFileSync(path.join(dir, 'sshd.pid'), 'utf8').trim() : '';
    const sshdPid = /^\d+$/.test(pidText) ? Number(pidText) : undefined;
    let sshdRunning = false;
    try {
      sshdRunning = sshdPid !== undefined && fs.readFileSync(`/proc/${sshdPid}/cmdline`, 'utf8').includes(dir);
    } catch {
      sshdRunning = false;
    }
    const stamp = readStamp(path.join(dir, OWNER_FILE));
    const leftover = stamp
      ? !isAlive(stamp)
      : !othersAlive && !(sshdRunning && isNodeProcess(parentPid(sshdPid!)));
    if (!leftover) continue;
    const killed = sshdRunning ? killAll([sshdPid!, ...descendantsOf(sshdPid!)]) : [];
    fs.rmSync(dir, { recursive: true, force: true });
    reportRepair(`sshd instance ${dir} of an earlier run${killed.length ? `: killed ${killed.length} processes (${killed.join(', ')})` : ''}, folder removed`);
  }
  if (!othersAlive) {
    const ours = new Set([...liveInstances].flatMap((i) => (i.pid === undefined ? [] : [i.pid, ...descendantsOf(i.pid)])));
    const stray = killAll(processesOfUids(testUserUids()).filter((pid) => !ours.has(pid)));
    if (stray.length) reportRepair(`${stray.length} processes of test users left by an earlier run killed (${stray.join(', ')})`);
  }
}
const OWNER_FILE = 'owner.json';

async function makeKeyPair(file: string, comment: string): Promise<{ privateKey: string; publicKey: string }> {
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return { privateKey: fs.readFileSync(file, 'utf8'), publicKey: fs.readFileSync(`${file}.pub`, 'utf8').trim() };
}

/** The fingerprint exactly as OpenSSH prints it, read from ssh-keygen rather than computed here. */
async function opensshFingerprint(pubFile: string): Promise<string> {
  const out = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile]);
  const match = /SHA256:[A-Za-z0-9+/]+/.exec(out);
  if (!match) throw new Error(`ssh-keygen printed no SHA256 fingerprint for ${pubFile}: ${out}`);
  return match[0];
}

class SshdInstance implements SshdHandle {
  private child: ChildProcess | undefined;
  private logText = '';
  private fingerprint = '';
  private hostPub = '';
  host: string;
  port = 0;
  keyUser!: SshdKeyUser;
  passwordUser!: SshdPasswordUser;
  extraUsers: SshdKeyUser[] = [];

  constructor(
    private readonly dir: string,
    private readonly opts: SshdOptions,
  ) {
    this.host = opts.listenAddress ?? '127.0.0.1';
  }

  get hostKeyFingerprint() {
    return this.fingerprint;
  }
  get hostPublicKey() {
    return this.hostPub;
  }
  get pid() {
    return this.child?.pid;
  }
  log() {
    return this.logText;
  }

  private get hostKeyFile() {
    return path.join(this.dir, 'ssh_host_ed25519_key');
  }

  async prepare(): Promise<void> {
    const extraCount = this.opts.users ?? 0;
    const first = this.opts.firstUser ?? 1;
    await ensureUser(KEY_USER, 'key');
    await ensureUser(PASSWORD_USER, 'password');
    for (let i = first; i < first + extraCount; i++) await ensureUser(extraUserName(i), 'key');

    await this.newHostKey();
    const keysDir = path.join(this.dir, 'authorized_keys');
    fs.mkdirSync(keysDir, { mode: 0o755 });
    fs.chmodSync(keysDir, 0o755);
    const keyUserFor = async (username: string): Promise<SshdKeyUser> => {
      const pair = await makeKeyPair(path.join(this.dir, `id_${username}`), `${username}@cronium-test`);
      // Root-owned, 0644, in root-owned 0755 folders: what StrictModes accepts, readable with the user's uid.
      fs.writeFileSync(path.join(keysDir, username), `${pair.publicKey}\n`, { mode: 0o644 });
      return { username, ...pair, home: homeOf(username) };
    };
    this.keyUser = await keyUserFor(KEY_USER);
    this.extraUsers = [];
    for (let i = first; i < first + extraCount; i++) this.extraUsers.push(await keyUserFor(extraUserName(i)));
    this.passwordUser = { username: PASSWORD_USER, password: passwordUserPassword(), home: homeOf(PASSWORD_USER) };
  }

  private async newHostKey(): Promise<void> {
    const pair = await makeKeyPair(this.hostKeyFile, 'cronium-test-host');
    this.hostPub = pair.publicKey;
    this.fingerprint = await opensshFingerprint(`${this.hostKeyFile}.pub`);
  }

  private writeConfig(): string {
    const keyUsers = [KEY_USER, ...this.extraUsers.map((u) => u.username)];
    const config = [
      `ListenAddress ${this.host}`,
      `Port ${this.port}`,
      `HostKey ${this.hostKeyFile}`,
      `PidFile ${path.join(this.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(this.dir, 'authorized_keys')}/%u`,
      'UsePAM no',
      'StrictModes yes',
      'PermitRootLogin no',
      `AllowUsers ${[...keyUsers, PASSWORD_USER].join(' ')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      `AllowTcpForwarding ${this.opts.allowTcpForwarding === false ? 'no' : 'yes'}`,
      `AllowStreamLocalForwarding ${this.opts.allowStreamLocalForwarding === false ? 'no' : 'yes'}`,
      'GatewayPorts no',
      'X11Forwarding no',
      'PrintMotd no',
      'UseDNS no',
      'LogLevel VERBOSE',
      'Subsystem sftp internal-sftp',
      // The default 10:30:100 resets connections when tests fan out.
      'MaxStartups 100:30:200',
      'MaxSessions 100',
      `Match User ${keyUsers.join(',')}`,
      '    PubkeyAuthentication yes',
      '    PasswordAuthentication no',
      `Match User ${PASSWORD_USER}`,
      '    PubkeyAuthentication no',
      '    PasswordAuthentication yes',
      ...(this.opts.extraConfig ?? []),
      '',
    ].join('\n');
    const file = path.join(this.dir, 'sshd_config');
    fs.writeFileSync(file, config, { mode: 0o600 });
    return file;
  }

  async launch(): Promise<void> {
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation folder sshd insists on
    const portWasChosen = this.opts.port !== undefined || this.port !== 0 || this.opts.netns !== undefined;
    if (this.port === 0) this.port = this.opts.port ?? (this.opts.netns !== undefined ? 22 : await freePort(this.host));
    for (let attempt = 1; ; attempt++) {
      const cfg = this.writeConfig();
      const args = ['-D', '-e', '-f', cfg];
      const child =
        this.opts.netns === undefined
          ? spawn(SSHD, args, { stdio: ['ignore', 'ignore', 'pipe'] })
          : spawn('ip', ['netns', 'exec', this.opts.netns, SSHD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      this.child = child;
      liveInstances.add(this);
      let exited = false;
      child.once('exit', () => {
        exited = true;
      });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        this.logText += chunk;
      });
      const logStart = this.logText.length;
      try {
        await waitForPort(this.host, this.port, { timeoutMs: 10_000, stillAlive: () => !exited });
        return;
      } catch (err) {
        await this.halt();
        const said = this.logText.slice(logStart).trim();
        // Another process may have taken the free port we picked; pick again unless the caller fixed it.
        if (!portWasChosen && attempt < 3 && /Address already in use/i.test(said)) {
          this.port = await freePort(this.host);
          continue;
        }
        throw new Error(`sshd did not start on ${this.host}:${this.port}: ${(err as Error).message}\n${said}`);
      }
    }
  }

  /** Kills the listener and every process below it (per-connection sshd children and user sessions). */
  async halt(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.child = undefined;
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killAll([child.pid!, ...descendantsOf(child.pid!)]);
    await exited;
    this.child = undefined;
    liveInstances.delete(this);
  }

  killNow(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    killAll([pid, ...descendantsOf(pid)]);
  }

  async stop(): Promise<void> {
    await this.halt();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  async restart(): Promise<void> {
    await this.halt();
    await this.launch();
  }

  async regenerateHostKey(): Promise<void> {
    await this.newHostKey();
    await this.restart();
  }
}

export async function startSshd(opts: SshdOptions = {}): Promise<SshdHandle> {
  checkRequirements(opts.netns);
  fs.mkdirSync(STATE_ROOT, { recursive: true, mode: 0o755 });
  fs.chmodSync(STATE_ROOT, 0o755);
  await sweepLeftovers();
  const dir = fs.mkdtempSync(path.join(STATE_ROOT, 'sshd-'));
  fs.chmodSync(dir, 0o755);
  writeStamp(path.join(dir, OWNER_FILE));
  const instance = new SshdInstance(dir, opts);
  try {
    await instance.prepare();
    await instance.launch();
  } catch (err) {
    await instance.stop();
    throw err;
  }
  return instance;
}
