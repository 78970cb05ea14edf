// How ssh2 and socket failures become AppErrors: the error shapes below are the ones ssh2 1.17 and Node emit.
import { describe, expect, it } from 'vitest';
import { sshErrorToAppError } from '../../../src-main/core/ssh/errors';
import { ErrorCode } from '../../../src-shared/errors';

const ctx = { name: 'db-1', host: 'db.example', port: 2222, username: 'deploy', authType: 'key' as const };
const err = (message: string, extra: Record<string, unknown>) => Object.assign(new Error(message), extra);

describe('SSH error mapping', () => {
  describe('when the socket cannot reach the host', () => {
    it.each(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND'])('maps %s to HOST_UNREACHABLE with host:port', (code) => {
      const e = sshErrorToAppError(err(`connect ${code}`, { code, level: 'client-socket' }), ctx);
      expect(e.code).toBe(ErrorCode.HOST_UNREACHABLE);
      expect(e.message).toContain('db.example:2222');
    });
  });
  describe('when the handshake does not finish in time', () => {
    it('maps ssh2 client-timeout to CONNECT_TIMEOUT and states the bound', () => {
      const e = sshErrorToAppError(err('Timed out while waiting for handshake', { level: 'client-timeout' }), ctx, 1500);
      expect(e.code).toBe(ErrorCode.CONNECT_TIMEOUT);
      expect(e.message).toContain('within 1500 ms');
    });
  });
  describe('when the server refuses the credential', () => {
    it('maps client-authentication to AUTH_FAILED naming the user and the credential kind', () => {
      const e = sshErrorToAppError(err('All configured authentication methods failed', { level: 'client-authentication' }), ctx);
      expect(e.code).toBe(ErrorCode.AUTH_FAILED);
      expect(e.message).toContain('refused the key for user deploy');
      const pw = sshErrorToAppError(err('All configured authentication methods failed', { level: 'client-authentication' }), { ...ctx, authType: 'password' });
      expect(pw.message).toContain('refused the password for user deploy');
    });
  });
  describe('when the private key cannot be read', () => {
    it('maps ssh2 key parse errors to KEY_INVALID', () => {
      expect(sshErrorToAppError(new Error('Cannot parse privateKey: Unsupported key format'), ctx).code).toBe(ErrorCode.KEY_INVALID);
      expect(sshErrorToAppError(new Error('Encrypted private key detected, but no passphrase given'), ctx).code).toBe(ErrorCode.KEY_INVALID);
    });
  });
  describe('when an established connection breaks', () => {
    it('maps resets to CONNECTION_LOST', () => {
      expect(sshErrorToAppError(err('read ECONNRESET', { code: 'ECONNRESET' }), ctx).code).toBe(ErrorCode.CONNECTION_LOST);
    });
  });
});
