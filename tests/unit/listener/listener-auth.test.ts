// ListenerAuth: HS256 bearer tokens for the listener's routes, keyed by HELPER_JWT_SECRET or the keychain app secret;
// runner tokens bound to their job, its server and the job being live here; required claims and a maximum age.
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ListenerAuth, MAX_TOKEN_AGE_SECONDS } from '../../../src-main/core/listener/auth';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { HELPER_JWT_SECRET_REF } from '../../../src-main/core/secrets/secret-refs';
import { ErrorCode } from '../../../src-shared/errors';

const SECRET = 's'.repeat(32);
const authWith = (envSecret?: string, secrets = new MemorySecretStore()) =>
  new ListenerAuth({ settings: { helperJwtSecretFromEnv: () => envSecret }, secrets });

/** A token signed with the right secret but shaped by the test (to show each check refuses it on its own). */
async function forged(claims: Record<string, unknown>, opts: { iat?: number; exp?: number; sub?: string; aud?: string; iss?: string }) {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' });
  if (opts.iss !== undefined) jwt = jwt.setIssuer(opts.iss);
  if (opts.aud !== undefined) jwt = jwt.setAudience(opts.aud);
  if (opts.sub !== undefined) jwt = jwt.setSubject(opts.sub);
  if (opts.iat !== undefined) jwt = jwt.setIssuedAt(opts.iat);
  if (opts.exp !== undefined) jwt = jwt.setExpirationTime(opts.exp);
  return jwt.sign(new TextEncoder().encode(SECRET));
}
const now = () => Math.floor(Date.now() / 1000);

describe('ListenerAuth', () => {
  describe('when a token is minted for an audience', () => {
    it('verifies for that audience with its claims, and is refused for another', async () => {
      const auth = authWith(SECRET);
      auth.openJob('job-1', 'srv-1');
      const token = await auth.mintToken({ aud: 'runner', sub: 'job-1', jobId: 'job-1', serverId: 'srv-1' }, 60);
      expect(await auth.verifyToken(token, 'runner')).toMatchObject({ aud: 'runner', sub: 'job-1', jobId: 'job-1', serverId: 'srv-1' });
      await expect(auth.verifyToken(token, 'automation')).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED, message: /not meant for automation/ });
    });

    it('refuses to mint a runner token that does not name its job and server', async () => {
      await expect(authWith(SECRET).mintToken({ aud: 'runner', sub: 'job-1' }, 60)).rejects.toMatchObject({ code: ErrorCode.INVALID_INPUT });
    });
  });

  describe('when a token is expired or signed with another secret', () => {
    it('refuses it', async () => {
      const auth = authWith('a'.repeat(32));
      const expired = await auth.mintToken({ aud: 'automation', sub: 'x' }, 1);
      await new Promise((r) => setTimeout(r, 2100));
      await expect(auth.verifyToken(expired, 'automation')).rejects.toMatchObject({ message: /expired/ });
      const foreign = await authWith('b'.repeat(32)).mintToken({ aud: 'automation', sub: 'x' }, 60);
      await expect(auth.verifyToken(foreign, 'automation')).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED });
    });
  });

  describe('when a runner token is bound to its job, server and the job being live', () => {
    it('is refused for another server, and once the job has ended', async () => {
      const auth = authWith(SECRET);
      const close = auth.openJob('job-2', 'srv-1');
      const good = await auth.mintToken({ aud: 'runner', sub: 'job-2', jobId: 'job-2', serverId: 'srv-1' }, 60);
      const otherServer = await auth.mintToken({ aud: 'runner', sub: 'job-2', jobId: 'job-2', serverId: 'srv-2' }, 60);
      await expect(auth.verifyToken(good, 'runner')).resolves.toMatchObject({ jobId: 'job-2' });
      await expect(auth.verifyToken(otherServer, 'runner')).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED, message: /another server/ });
      close();
      await expect(auth.verifyToken(good, 'runner')).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED, message: /not running in this app/ });
    });

    it('is refused for a job that never started here', async () => {
      const auth = authWith(SECRET);
      const token = await auth.mintToken({ aud: 'runner', sub: 'job-3', jobId: 'job-3', serverId: 'srv-1' }, 60);
      await expect(auth.verifyToken(token, 'runner')).rejects.toMatchObject({ message: /not running in this app/ });
    });
  });

  describe('when a token lacks a required claim or is too old', () => {
    it('refuses a token without iat, sub, job or server, and one older than the maximum age', async () => {
      const auth = authWith(SECRET);
      auth.openJob('job-4', 'srv-1');
      const base = { iss: 'cronium-desktop', aud: 'runner', sub: 'job-4', iat: now(), exp: now() + 60 };
      const claims = { job: 'job-4', server: 'srv-1' };
      await expect(auth.verifyToken(await forged(claims, base), 'runner')).resolves.toMatchObject({ jobId: 'job-4' });
      await expect(auth.verifyToken(await forged(claims, { ...base, iat: undefined }), 'runner')).rejects.toMatchObject({ message: /iat claim/ });
      await expect(auth.verifyToken(await forged(claims, { ...base, sub: undefined }), 'runner')).rejects.toMatchObject({ message: /sub claim/ });
      await expect(auth.verifyToken(await forged(claims, { ...base, iss: undefined }), 'runner')).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED });
      await expect(auth.verifyToken(await forged({ server: 'srv-1' }, base), 'runner')).rejects.toMatchObject({ message: /job or server/ });
      await expect(auth.verifyToken(await forged({ job: 'job-4' }, base), 'runner')).rejects.toMatchObject({ message: /job or server/ });
      const old = await forged(claims, { ...base, iat: now() - MAX_TOKEN_AGE_SECONDS - 60, exp: now() + 60 });
      await expect(auth.verifyToken(old, 'runner')).rejects.toMatchObject({ message: /older than/ });
      const longLived = await forged(claims, { ...base, exp: now() + MAX_TOKEN_AGE_SECONDS * 24 });
      await expect(auth.verifyToken(longLived, 'runner')).rejects.toMatchObject({ message: /lives longer/ });
    });
  });

  describe('when HELPER_JWT_SECRET is shorter than 32 bytes', () => {
    it('says so clearly and mints nothing', async () => {
      const auth = authWith('x');
      expect(() => auth.assertConfigured()).toThrow(expect.objectContaining({ code: ErrorCode.HELPER_JWT_SECRET_TOO_SHORT, message: expect.stringMatching(/1 bytes long; it must be at least 32 bytes/) }));
      await expect(auth.mintToken({ aud: 'automation', sub: 'x' }, 60)).rejects.toMatchObject({ code: ErrorCode.HELPER_JWT_SECRET_TOO_SHORT });
      expect(() => authWith('é'.repeat(16)).assertConfigured()).not.toThrow(); // 32 bytes of UTF-8
    });
  });

  describe('when HELPER_JWT_SECRET is not set', () => {
    it('creates the secret in the keychain once and keeps using it', async () => {
      const secrets = new MemorySecretStore();
      const token = await authWith(undefined, secrets).mintToken({ aud: 'automation', sub: 'x' }, 60);
      expect(await secrets.get(HELPER_JWT_SECRET_REF)).toMatch(/^[A-Za-z0-9_-]{40,}$/);
      // A new instance (an app restart) reads the same secret and accepts the old token.
      await expect(authWith(undefined, secrets).verifyToken(token, 'automation')).resolves.toMatchObject({ sub: 'x' });
    });
  });

  describe('when a token is altered, or its header asks for another algorithm', () => {
    it('refuses it: alg none or HS512, crit, a changed claim, a cut or re-encoded signature', async () => {
      const auth = authWith(SECRET);
      const token = await auth.mintToken({ aud: 'automation', sub: 'x' }, 60);
      await expect(auth.verifyToken(token, 'automation')).resolves.toMatchObject({ aud: 'automation', sub: 'x' });
      const [h, p, sig] = token.split('.') as [string, string, string];
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      const bad = [
        `${enc({ alg: 'none' })}.${p}.`,
        `${enc({ alg: 'none' })}.${p}.${sig}`,
        await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(SECRET)),
        await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', crit: ['x'], x: 1 } as never).sign(new TextEncoder().encode(SECRET)).catch(() => `${enc({ alg: 'HS256', crit: ['x'] })}.${p}.${sig}`),
        `${h}.${enc({ ...claims, sub: 'y' })}.${sig}`,
        `${h}.${p}.${sig.slice(0, -2)}`,
        `${h}.${p}.${Buffer.from(sig, 'base64url').toString('base64')}=`,
        `${h}.${p}`,
        `${h}.${p}.${sig}.x`,
      ];
      for (const t of bad) await expect(auth.verifyToken(t, 'automation')).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED, message: /not valid/ });
    });

    it('accepts a standard HS256 JWT made elsewhere with the same secret and claims, and refuses one dated in the future or from another issuer', async () => {
      const auth = authWith(SECRET);
      const token = await forged({}, { iss: 'cronium-desktop', aud: 'automation', sub: 'script', iat: now(), exp: now() + 60 });
      await expect(auth.verifyToken(token, 'automation')).resolves.toMatchObject({ aud: 'automation', sub: 'script' });
      const future = await forged({}, { iss: 'cronium-desktop', aud: 'automation', sub: 'script', iat: now() + 600, exp: now() + 660 });
      await expect(auth.verifyToken(future, 'automation')).rejects.toMatchObject({ message: /iat claim/ });
      const wrongIssuer = await forged({}, { iss: 'someone-else', aud: 'automation', sub: 'script', iat: now(), exp: now() + 60 });
      await expect(auth.verifyToken(wrongIssuer, 'automation')).rejects.toMatchObject({ message: /iss claim/ });
    });
  });

  describe('when a request carries no bearer token', () => {
    it('is refused with what to send', async () => {
      await expect(authWith('c'.repeat(32)).bearer('runner')({})).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED, message: /Authorization: Bearer/ });
    });
  });
});
