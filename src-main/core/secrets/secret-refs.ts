/**
 * Secret references: the one place that names keychain accounts (what the database stores instead of a value), and
 * getOrCreateAppSecret for the app's own generated secrets. It must never return or log a secret to anyone but the caller.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import type { SecretStore } from './secret-store';

/** The account KeytarSecretStore.check() writes, reads back and deletes to prove the keychain works. */
export const KEYCHAIN_PROBE_ACCOUNT = 'app:keychain-probe';
/** HS256 key for runner JWTs when HELPER_JWT_SECRET is not set in the environment. */
export const HELPER_JWT_SECRET_REF = 'app:helper-jwt-secret';
/** The local development key that signs runner artifacts built on this machine. */
export const RUNNER_DEV_SIGNING_KEY_REF = 'app:runner-dev-signing-key';
/** This installation's ed25519 key that signs execution payloads (its public half travels with each job start). */
export const PAYLOAD_SIGNING_KEY_REF = 'app:payload-signing-key';

/** A server's private key (with passphrase) or password, as one JSON or text value. */
export function serverCredentialRef(serverId: string): string {
  return `server:${part('server id', serverId)}:credential`;
}

/** One named secret of an event, injected into its job's environment. */
export function eventSecretRef(eventId: string, name: string): string {
  return `event:${part('event id', eventId)}:secret:${part('secret name', name)}`;
}

/** A secret variable; scope is as in the variables table ('global', 'event:<id>', 'workflow:<id>'). */
export function variableSecretRef(scope: string, key: string): string {
  return `variable:${part('variable scope', scope)}:${part('variable key', key)}`;
}

/** The secret of an alert rule's channel: a webhook URL (it usually carries a token) or an SMTP password. */
export function alertChannelSecretRef(ruleId: string): string {
  return `alert:${part('alert rule id', ruleId)}:channel-secret`;
}

/** Refuses what cannot be a keychain account: empty names or names with control characters. */
export function assertSecretAccount(account: string): void {
  if (typeof account !== 'string' || account.trim() === '' || /\p{Cc}/u.test(account)) {
    throw new AppError('SECRET_INVALID', 'A secret needs a non-empty account name (a keychain reference) without control characters.');
  }
}

/**
 * Returns the app secret stored under `account`, creating it first (`bytes` random bytes, base64url) when absent.
 * Used for HELPER_JWT_SECRET when the environment does not set one, so the key survives restarts without ever being
 * written outside the keychain.
 */
export async function getOrCreateAppSecret(store: SecretStore, account: string, bytes = 32): Promise<string> {
  if (!Number.isInteger(bytes) || bytes < 16) {
    throw new AppError('SECRET_INVALID', `An app secret needs at least 16 random bytes (asked for ${bytes}).`);
  }
  const existing = await store.get(account);
  if (existing) return existing;
  const created = randomBytes(bytes).toString('base64url');
  await store.set(account, created);
  // Read back: if two starts raced, both settle on whichever value the keychain kept.
  return (await store.get(account)) ?? created;
}

function part(what: string, value: string): string {
  if (typeof value !== 'string' || value === '' || /\p{Cc}/u.test(value)) {
    throw new AppError('SECRET_INVALID', `A secret reference needs a non-empty ${what} without control characters.`);
  }
  return value;
}
