// ListenerAuth: HS256 bearer tokens for the listener's routes, keyed by HELPER_JWT_SECRET or the keychain app secret.
import { describe, expect, it } from 'vitest';
import { ListenerAuth } from '../../../src-main/core/listener/auth';
import { MemorySecretStore } from '../../../src-main/core/secrets/memory-secret-store';
import { HELPER_JWT_SECRET_REF } from '../../../src-main/core/secrets/secret-refs';

const authWith = (envSecret?: string, secrets = new MemorySecretStore()) =>
  new ListenerAuth({ settings: { helperJwtSecretFromEnv: () => envSecret }, secrets });

describe('ListenerAuth', () => {
  describe('when a token is minted for an audience', () => {
    it('verifies for that audience with its claims, and is refused for another', async () => {
      const auth = authWith('s'.repeat(32));
      const token = await auth.mintToken({ aud: 'runner', sub: 'job-1', jobId: 'job-1' }, 60);
      expect(await auth.verifyToken(token, 'runner')).toMatchObject({ aud: 'runner', sub: 'job-1', jobId: 'job-1' });
      await expect(auth.verifyToken(token, 'automation')).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: /not meant for automation/ });
    });
  });

  describe('when a token is expired or signed with another secret', () => {
    it('refuses it', async () => {
      const auth = authWith('a'.repeat(32));
      const expired = await auth.mintToken({ aud: 'automation', sub: 'x' }, 1);
      await new Promise((r) => setTimeout(r, 2100));
      await expect(auth.verifyToken(expired, 'automation')).rejects.toMatchObject({ message: /expired/ });
      const foreign = await authWith('b'.repeat(32)).mintToken({ aud: 'automation', sub: 'x' }, 60);
      await expect(auth.verifyToken(foreign, 'automation')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
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

  describe('when a request carries no bearer token', () => {
    it('is refused with what to send', async () => {
      await expect(authWith('c'.repeat(32)).bearer('runner')({})).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: /Authorization: Bearer/ });
    });
  });
});
