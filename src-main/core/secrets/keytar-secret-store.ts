/**
 * KeytarSecretStore: the SecretStore backed by the OS keychain (Secret Service on Linux, Keychain on macOS, Credential
 * Manager on Windows) through keytar. It owns translating keychain failures into plain KEYCHAIN_UNAVAILABLE messages.
 * It must never fall back to storing a secret anywhere else, and never put a secret value into an error or a log.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import { SECRET_SERVICE_NAME, type SecretStore } from './secret-store';
import { KEYCHAIN_PROBE_ACCOUNT, assertSecretAccount } from './secret-refs';

/** The part of keytar this store uses; keytar is imported lazily so a missing native module cannot crash start-up. */
export interface KeytarModule {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

export interface KeytarSecretStoreOptions {
  /** Keychain service name; defaults to SECRET_SERVICE_NAME. Integration tests use their own to stay out of the app's. */
  serviceName?: string;
  /** Loads keytar; defaults to a dynamic import of the real module. */
  loadKeytar?: () => Promise<KeytarModule>;
}

async function importKeytar(): Promise<KeytarModule> {
  // require, not import(): the main process is bundled to CommonJS with keytar external, and require is what finds a
  // native module unpacked beside app.asar. Called on first use so a missing .node or libsecret cannot crash start-up.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('keytar') as KeytarModule & { default?: KeytarModule };
  return typeof mod.getPassword === 'function' ? mod : (mod.default as KeytarModule);
}

function platformKeychainName(): string {
  if (process.platform === 'darwin') return 'macOS Keychain';
  if (process.platform === 'win32') return 'Windows Credential Manager';
  return 'Secret Service (GNOME Keyring or KWallet)';
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Turns a keytar (or module loading) failure into an AppError a person can act on. Pure, so the wording is tested
 * against the real messages libsecret and Node produce.
 */
export function describeKeychainFailure(err: unknown, action: string): AppError {
  const raw = errorText(err);
  const extra = { details: { action, cause: raw }, cause: err };
  const unavailable = (message: string) => new AppError('KEYCHAIN_UNAVAILABLE', message, extra);

  if (/libsecret-1\.so|libsecret/i.test(raw) && /cannot open shared object|not found|No such file/i.test(raw)) {
    return unavailable(
      `The libsecret library is missing, so the app cannot talk to the keyring. Install it ` +
        `(Debian/Ubuntu: apt-get install libsecret-1-0; to build from source also libsecret-1-dev), then restart the app.`,
    );
  }
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version/i.test(raw)) {
    return unavailable(
      `The keychain module (keytar) was built for a different Node/Electron version. Rebuild it ` +
        `(npm rebuild keytar, or electron-builder install-app-deps), then restart the app.`,
    );
  }
  if (/Cannot find (module|package)|ERR_MODULE_NOT_FOUND|keytar\.node/i.test(raw)) {
    return unavailable(
      `The keychain module (keytar) is not installed or not built for this Node/Electron version, so secrets cannot ` +
        `be ${action}. Reinstall dependencies (npm ci) or rebuild it (npm rebuild keytar). Detail: ${raw}`,
    );
  }
  if (/autolaunch D-Bus|DBUS_SESSION_BUS_ADDRESS|Could not connect: |Failed to connect to socket|dbus-launch|Unable to autolaunch/i.test(raw)) {
    return unavailable(
      'No desktop keyring is reachable: start a D-Bus session and a Secret Service such as GNOME Keyring ' +
        '(apt-get install gnome-keyring dbus), or run the app inside your desktop session.',
    );
  }
  if (/org\.freedesktop\.secrets was not provided|ServiceUnknown|No such secret service|not provided by any \.service files/i.test(raw)) {
    return unavailable(
      'A D-Bus session is running but no Secret Service answers on it: install and start a keyring ' +
        '(apt-get install gnome-keyring, or KWallet with its Secret Service enabled), then restart the app.',
    );
  }
  if (/collection\/login|locked|prompt dismissed|Cannot create an item in a locked collection|Dismissed/i.test(raw)) {
    return unavailable(
      'The keyring is locked or has no login collection: unlock it (log in to your desktop session, or open ' +
        '"Passwords and Keys" and unlock/create the "Login" keyring), then try again.',
    );
  }
  if (/User canceled|user interaction is not allowed|errSecInteractionNotAllowed|-25308|-128/i.test(raw)) {
    return unavailable(
      `The ${platformKeychainName()} refused access (locked, or the request was cancelled): unlock it and allow ` +
        `Cronium Desktop access, then try again.`,
    );
  }
  return unavailable(`The ${platformKeychainName()} failed while secrets were being ${action}: ${raw}`);
}

export class KeytarSecretStore implements SecretStore {
  readonly description = platformKeychainName();
  private readonly serviceName: string;
  private readonly loadKeytar: () => Promise<KeytarModule>;
  /** Only a successful load is kept: a user who installs libsecret and retries should not need a restart. */
  private keytar: KeytarModule | null = null;

  constructor(options: KeytarSecretStoreOptions = {}) {
    this.serviceName = options.serviceName ?? SECRET_SERVICE_NAME;
    this.loadKeytar = options.loadKeytar ?? importKeytar;
  }

  async check(): Promise<void> {
    const probe = randomBytes(16).toString('base64url');
    // One probe account per check: two app processes checking at once (the desktop app and serve mode) must not
    // read each other's probe and conclude the keyring is broken.
    const account = `${KEYCHAIN_PROBE_ACCOUNT}:${probe}`;
    await this.run('checked', async (k) => {
      await k.setPassword(this.serviceName, account, probe);
      const back = await k.getPassword(this.serviceName, account);
      await k.deletePassword(this.serviceName, account);
      if (back !== probe) {
        throw new AppError(
          'KEYCHAIN_UNAVAILABLE',
          `The ${this.description} accepted a test secret but returned something else when read back; ` +
            'it cannot be trusted with credentials. Check the keyring daemon, then restart the app.',
        );
      }
    });
  }

  async get(account: string): Promise<string | null> {
    assertSecretAccount(account);
    return this.run('read', (k) => k.getPassword(this.serviceName, account));
  }

  async set(account: string, value: string): Promise<void> {
    assertSecretAccount(account);
    if (typeof value !== 'string') throw new AppError('SECRET_INVALID', `The secret for ${account} must be text.`);
    await this.run('saved', (k) => k.setPassword(this.serviceName, account, value));
  }

  async delete(account: string): Promise<boolean> {
    assertSecretAccount(account);
    return this.run('deleted', (k) => k.deletePassword(this.serviceName, account));
  }

  private async run<T>(action: string, op: (k: KeytarModule) => Promise<T>): Promise<T> {
    try {
      if (!this.keytar) this.keytar = await this.loadKeytar();
      return await op(this.keytar);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw describeKeychainFailure(err, action);
    }
  }
}
