// The lab harness on a machine an earlier run left in a bad state: test users whose home folder was deleted, whose
// shell or password state was changed, and sshd instances and namespaces of a run that was SIGKILLed. The harness must
// repair or remove each, say so on stderr, and key and password logins must work afterwards.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { removeLeftovers as removeSshdLeftovers, repairTestUser, startSshd, type SshdHandle } from '../../harness/sshd';
import { destroyAll, removeLeftovers as removeNetnsLeftovers } from '../../harness/netns';
import { canConnect } from '../../harness/ports';
import { SshConnection } from '../../../src-main/core/ssh/ssh-connection';

const quick = { connectTimeoutMs: 5_000, livenessIntervalMs: 0, livenessTimeoutMs: 1_000, idleCloseMs: 0 };
const KEY_USER = 'cronium-k1';
const PASSWORD_USER = 'cronium-pw';

let sshd: SshdHandle | undefined;
let printed: string[] = [];

function captureStderr(): void {
  printed = [];
  const original = process.stderr.write.bind(process.stderr);
  vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    printed.push(String(chunk));
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write);
}

function passwdLine(user: string): string[] {
  return fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))!.split(':');
}
function shadowHash(user: string): string {
  return fs.readFileSync('/etc/shadow', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))!.split(':')[1]!;
}
/** Running, not a zombie (a killed orphan stays a zombie until init reaps it). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
function namespaceExists(name: string): boolean {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').some((l) => l.split(' ')[0] === name);
}

async function whoAmI(handle: SshdHandle, auth: { type: 'key'; privateKey: string } | { type: 'password'; password: string }, username: string) {
  const connection = await SshConnection.open(
    { serverId: username, name: username, host: handle.host, port: handle.port, username, auth, pinnedFingerprint: handle.hostKeyFingerprint },
    quick,
  );
  try {
    return (await connection.exec('whoami; pwd; echo "$SHELL"; touch ~/written && echo writable')).stdout;
  } finally {
    connection.end();
  }
}

beforeAll(async () => {
  // Both users exist and are healthy before each case breaks them.
  await repairTestUser(KEY_USER, 'key');
  await repairTestUser(PASSWORD_USER, 'password');
});
afterEach(async () => {
  vi.restoreAllMocks();
  await sshd?.stop();
  sshd = undefined;
});
afterAll(async () => {
  await destroyAll();
});

describe('the sshd test harness', () => {
  describe("when an earlier run left test users whose home folders are gone and whose accounts were changed", () => {
    it('repairs every user it reuses, says what it repaired, and key and password logins work', async () => {
      for (const user of [KEY_USER, PASSWORD_USER]) fs.rmSync(`/home/${user}`, { recursive: true, force: true });
      execFileSync('usermod', ['-s', '/usr/sbin/nologin', KEY_USER]);
      execFileSync('usermod', ['-L', KEY_USER]); // '*' becomes '!*': a locked account refuses even keys
      execFileSync('chpasswd', { input: `${PASSWORD_USER}:not-the-harness-password\n` });
      captureStderr();

      sshd = await startSshd({ users: 1 });

      const said = printed.join('');
      expect(said).toContain(`[test harness] repaired: ${KEY_USER}: home /home/${KEY_USER} was missing`);
      expect(said).toContain(`[test harness] repaired: ${PASSWORD_USER}: home /home/${PASSWORD_USER} was missing`);
      expect(said).toContain(`${KEY_USER}: login shell was /usr/sbin/nologin: set to /bin/bash`);
      expect(said).toContain(`${KEY_USER}: password field was locked: made key-only`);
      expect(said).toContain(`${PASSWORD_USER}: password was not the harness's`);
      for (const user of [KEY_USER, PASSWORD_USER]) {
        const st = fs.statSync(`/home/${user}`);
        expect(st.isDirectory()).toBe(true);
        expect(st.uid).toBe(Number(passwdLine(user)[2]));
        expect(st.mode & 0o777).toBe(0o755);
      }
      expect(passwdLine(KEY_USER)[6]).toBe('/bin/bash');
      expect(shadowHash(KEY_USER)).toBe('*');

      const keyUser = sshd.extraUsers[0]!;
      expect(keyUser.username).toBe(KEY_USER);
      expect(await whoAmI(sshd, { type: 'key', privateKey: keyUser.privateKey }, KEY_USER)).toBe(`${KEY_USER}\n/home/${KEY_USER}\n/bin/bash\nwritable\n`);
      expect(await whoAmI(sshd, { type: 'password', password: sshd.passwordUser.password }, PASSWORD_USER)).toBe(
        `${PASSWORD_USER}\n/home/${PASSWORD_USER}\n/bin/bash\nwritable\n`,
      );
    });

    it('gives back a home that another owner took and that was made group-writable', async () => {
      const home = `/home/${KEY_USER}`;
      fs.chownSync(home, 0, 0);
      fs.chmodSync(home, 0o777);
      fs.writeFileSync(path.join(home, 'stray'), 'x');
      fs.chownSync(path.join(home, 'stray'), 0, 0);

      const repairs = await repairTestUser(KEY_USER, 'key');

      expect(repairs.join('\n')).toMatch(new RegExp(`${KEY_USER}: home ${home} was owned by uid 0`));
      expect(repairs.join('\n')).toContain(`${KEY_USER}: home ${home} had mode 0777: set to 0755`);
      const uid = Number(passwdLine(KEY_USER)[2]);
      expect(fs.statSync(home).uid).toBe(uid);
      expect(fs.statSync(path.join(home, 'stray')).uid).toBe(uid);
      expect(fs.statSync(home).mode & 0o777).toBe(0o755);
    });

    it('repairs nothing and says nothing when every user is already right', async () => {
      captureStderr();
      expect(await repairTestUser(KEY_USER, 'key')).toEqual([]);
      expect(await repairTestUser(PASSWORD_USER, 'password')).toEqual([]);
      expect(printed.join('')).not.toContain('[test harness]');
    });
  });

  describe('when an earlier run was killed with its sshd instances and a namespace host still running', () => {
    it('kills them, removes their folders and the namespace, and a new sshd starts and accepts logins', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'killed-run-'));
      try {
        const script = path.join(dir, 'killed-run.cjs');
        await build({ entryPoints: [path.join(__dirname, 'killed-run-fixture.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: script, logLevel: 'silent' });
        const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stderr.on('data', (c) => (err += c));
        const made = await new Promise<{ sshdPid: number; port: number; namespace: string; innerPid: number }>((resolve, reject) => {
          child.stdout.on('data', (c) => {
            out += c;
            if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
          });
          child.once('exit', (code) => reject(new Error(`the killed-run fixture exited (${code}) before it was ready:\n${err}`)));
        });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
        // What a killed run leaves: sshd processes still running, a namespace with a process in it.
        expect(alive(made.sshdPid)).toBe(true);
        expect(alive(made.innerPid)).toBe(true);
        expect(namespaceExists(made.namespace)).toBe(true);
        captureStderr();

        await removeNetnsLeftovers();
        await removeSshdLeftovers();

        expect(alive(made.sshdPid)).toBe(false);
        expect(alive(made.innerPid)).toBe(false);
        expect(namespaceExists(made.namespace)).toBe(false);
        expect(await canConnect('127.0.0.1', made.port, 500)).toBe(false);
        const said = printed.join('');
        expect(said).toContain(`[test harness] repaired: network namespace ${made.namespace} of an earlier run`);
        expect(said).toMatch(/\[test harness\] repaired: sshd instance \/run\/cronium-test-sshd\/sshd-\S+ of an earlier run: killed \d+ processes/);

        sshd = await startSshd();
        expect(await whoAmI(sshd, { type: 'key', privateKey: sshd.keyUser.privateKey }, sshd.keyUser.username)).toContain('writable');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
