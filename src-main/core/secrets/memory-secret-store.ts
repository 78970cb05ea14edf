/**
 * MemorySecretStore: a SecretStore held in a Map, for unit tests and nothing else (nothing persists, nothing is
 * encrypted). It behaves like the keychain store, including refusing bad account names and, when told to, failing
 * every call with KEYCHAIN_UNAVAILABLE so callers' "no keychain" paths can be tested. Never wire it into the app.
 */
import { AppError } from '../errors';
import { assertSecretAccount } from './secret-refs';
import type { SecretStore } from './secret-store';

export interface MemorySecretStoreOptions {
  /** When set, every call throws AppError('KEYCHAIN_UNAVAILABLE', unavailableMessage). */
  unavailableMessage?: string;
}

export class MemorySecretStore implements SecretStore {
  readonly description = 'in-memory (tests)';
  private readonly values = new Map<string, string>();
  private unavailableMessage: string | undefined;

  constructor(options: MemorySecretStoreOptions = {}) {
    this.unavailableMessage = options.unavailableMessage;
  }

  /** Makes the store behave like an unreachable keychain (message) or a working one again (undefined). */
  setUnavailable(message: string | undefined): void {
    this.unavailableMessage = message;
  }

  /** The accounts currently held, sorted; lets tests assert that a secret was removed or never written. */
  accounts(): string[] {
    return [...this.values.keys()].sort();
  }

  async check(): Promise<void> {
    this.assertAvailable();
  }

  async get(account: string): Promise<string | null> {
    this.assertAvailable();
    assertSecretAccount(account);
    return this.values.get(account) ?? null;
  }

  async set(account: string, value: string): Promise<void> {
    this.assertAvailable();
    assertSecretAccount(account);
    if (typeof value !== 'string') throw new AppError('SECRET_INVALID', `The secret for ${account} must be text.`);
    this.values.set(account, value);
  }

  async delete(account: string): Promise<boolean> {
    this.assertAvailable();
    assertSecretAccount(account);
    return this.values.delete(account);
  }

  private assertAvailable(): void {
    if (this.unavailableMessage !== undefined) throw new AppError('KEYCHAIN_UNAVAILABLE', this.unavailableMessage);
  }
}
