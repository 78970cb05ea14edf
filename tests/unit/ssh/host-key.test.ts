// Host-key trust rules, checked against fingerprints printed by `ssh-keygen -l -E sha256` for these exact keys.
import { describe, expect, it } from 'vitest';
import { HostKeyVerifier, algorithmOf, fingerprintOf, sameFingerprint } from '../../../src-main/core/ssh/host-key';
import { AppError } from '../../../src-main/core/errors';
import { ErrorCode } from '../../../src-shared/errors';

// Public keys and the fingerprints OpenSSH 9.2 printed for them.
const ED25519 = {
  blob: Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIII6AxTsT302wZk/xXMoUQct156yO+HRhCYRQ/dFDZps', 'base64'),
  fingerprint: 'SHA256:nCL2evcInUZDyN5HYSJ837DOt378CzkYU3lx2ih7W60',
};
const RSA = {
  blob: Buffer.from(
    'AAAAB3NzaC1yc2EAAAADAQABAAAAgQClEQajFCUKjA/+J9nzxCXFROlb2jbikaVlfjsuzBDZP0yhWWw3PgjTS7g+3Ct8AToIFQX+3oN49UHdiC9riCASPCHu0+Od+wAOpyU8SoAN5rfBoqPPblDGeAz9i4HpDdJoA2AAmZ1LTeomtMJtRn93YRDI8in0r+Cr9j4jWgtgsw==',
    'base64',
  ),
  fingerprint: 'SHA256:K8XFwfRO6L7qDbIyYTo4pVRQj68Vgtm5E2LXNgfVWUk',
};
const server = { name: 'db-1', host: '10.0.0.5', port: 22 };

describe('host keys', () => {
  describe('when a fingerprint is computed', () => {
    it('matches what OpenSSH prints, without base64 padding', () => {
      expect(fingerprintOf(ED25519.blob)).toBe(ED25519.fingerprint);
      expect(fingerprintOf(RSA.blob)).toBe(RSA.fingerprint);
    });
    it('names the key algorithm from the key blob', () => {
      expect(algorithmOf(ED25519.blob)).toBe('ssh-ed25519');
      expect(algorithmOf(RSA.blob)).toBe('ssh-rsa');
      expect(algorithmOf(Buffer.from([0, 0, 0, 99, 1]))).toBe('unknown');
    });
    it('compares pasted fingerprints with or without prefix and padding', () => {
      expect(sameFingerprint(ED25519.fingerprint, `${ED25519.fingerprint.slice(7)}=`)).toBe(true);
      expect(sameFingerprint(ED25519.fingerprint, RSA.fingerprint)).toBe(false);
    });
  });

  describe('when the server presents a key that was never trusted', () => {
    it('refuses and carries the fingerprint and algorithm for the user to approve', () => {
      const verifier = new HostKeyVerifier({ ...server, pinnedFingerprint: null });
      expect(verifier.verify(ED25519.blob)).toBe(false);
      const refusal = verifier.refusal();
      expect(refusal).toBeInstanceOf(AppError);
      expect(refusal!.code).toBe(ErrorCode.HOST_KEY_UNTRUSTED);
      expect(refusal!.extra.details).toEqual({ fingerprint: ED25519.fingerprint, algorithm: 'ssh-ed25519' });
    });
  });

  describe('when the server presents the pinned key', () => {
    it('accepts it', () => {
      const verifier = new HostKeyVerifier({ ...server, pinnedFingerprint: ED25519.fingerprint });
      expect(verifier.verify(ED25519.blob)).toBe(true);
      expect(verifier.refusal()).toBeUndefined();
    });
  });

  describe("when the server's key changed", () => {
    it('refuses with both fingerprints and says no credential was sent', () => {
      const verifier = new HostKeyVerifier({ ...server, pinnedFingerprint: ED25519.fingerprint });
      expect(verifier.verify(RSA.blob)).toBe(false);
      const refusal = verifier.refusal()!;
      expect(refusal.code).toBe(ErrorCode.HOST_KEY_CHANGED);
      expect(refusal.message).toBe(
        `host key for db-1 (10.0.0.5:22) changed: expected ${ED25519.fingerprint}, got ${RSA.fingerprint}; ` +
          'connection refused before sending credentials; re-trust only if you know why it changed',
      );
    });
  });
});
