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
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { freePort, waitForPort } from './ports';

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
  listenAddress?: string;
  /** Network namespace to run sshd in (see netns.ts); the port then defaults to 22. */
  netns?: string;
  port?: number;
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

function homeOf(username: string): string {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${username}:`));
  if (!line) throw new Error(`user ${username} has no /etc/passwd entry`);
  return line.split(':')[5]!;
}

function userExists(username: string): boolean {
  return fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${username}:`));
}

const preparedUsers = new Map<string, Promise<void>>();

/** Creates the user once per machine; tolerates another test process creating it at the same moment. */
function ensureUser(username: string, kind: 'key' | 'password'): Promise<void> {
  let ready = preparedUsers.get(username);
  if (!ready) {
    ready = (async () => {
      if (!userExists(username)) {
        try {
          await run('useradd', ['-m', '-s', '/bin/bash', username]);
        } catch (err) {
          if (!userExists(username)) throw err;
        }
      }
      if (kind === 'key') {
        // With UsePAM no, the locked '!' hash useradd leaves blocks even key logins ("account is locked").
        await run('usermod', ['-p', '*', username]);
      } else {
        await run('chpasswd', [], `${username}:${passwordUserPassword()}\n`);
      }
    })();
    preparedUsers.set(username, ready);
    ready.catch(() => preparedUsers.delete(username));
  }
  return ready;
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

/** Every descendant of pid, read from /proc (sshd's per-connection children call setsid, so no process group). */
function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended while we were reading: nothing to kill
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
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
    await ensureUser(KEY_USER, 'key');
    await ensureUser(PASSWORD_USER, 'password');
    for (let i = 1; i <= extraCount; i++) await ensureUser(extraUserName(i), 'key');

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
    for (let i = 1; i <= extraCount; i++) this.extraUsers.push(await keyUserFor(extraUserName(i)));
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
      'AllowTcpForwarding yes',
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
    const tree = [child.pid!, ...descendantsOf(child.pid!)];
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
    this.child = undefined;
    liveInstances.delete(this);
  }

  killNow(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    for (const p of [pid, ...descendantsOf(pid)]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {}
    }
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
  const dir = fs.mkdtempSync(path.join(STATE_ROOT, 'sshd-'));
  fs.chmodSync(dir, 0o755);
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
