/**
 * SecretStore: the port through which every secret (SSH keys and passwords, secret variables, HELPER_JWT_SECRET,
 * the local artifact-signing key) is read and written. Implementations: KeytarSecretStore (the OS keychain) and
 * MemorySecretStore (unit tests only). The database only ever holds the reference (account name), never the value.
 */
export interface SecretStore {
  /** Where the secrets live, for messages: "GNOME Keyring (Secret Service)", "in-memory (tests)". */
  readonly description: string;
  /** Throws AppError('KEYCHAIN_UNAVAILABLE', <what is missing and what to do>) when the keychain cannot be reached. */
  check(): Promise<void>;
  get(account: string): Promise<string | null>;
  set(account: string, value: string): Promise<void>;
  delete(account: string): Promise<boolean>;
}

/** The keychain "service" name under which all of the app's secrets are stored. */
export const SECRET_SERVICE_NAME = 'cronium-desktop';
