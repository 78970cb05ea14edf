/**
 * Servers: the machines events run on. A credential goes in (key or password) but never comes back out: views only
 * say whether one is stored. Host keys are trusted only by an explicit call carrying the fingerprint the user saw.
 */
import { z } from 'zod';
import { call, errorCodeSchema, Ok } from './define';

export const ServerId = z.object({ id: z.string().min(1) });

const HostName = z
  .string()
  .trim()
  .min(1, 'enter a host name or address')
  .max(253)
  .regex(/^[A-Za-z0-9.:\-[\]_]+$/, 'a host name or IP address has only letters, digits, dots, dashes and colons');
const UserName = z
  .string()
  .trim()
  .min(1, 'enter the user to log in as')
  .max(64)
  .regex(/^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$/, 'not a valid user name');

export const ServerInput = z.object({
  /** Absent to create; present to edit. */
  id: z.string().min(1).optional(),
  name: z.string().trim().min(1, 'give the server a name').max(100),
  host: HostName,
  port: z.number().int().min(1, 'port must be 1-65535').max(65535, 'port must be 1-65535'),
  username: UserName,
  /** 'agent': the keys of the ssh-agent at SSH_AUTH_SOCK (Pageant / the OpenSSH pipe on Windows); no secret stored. */
  authType: z.enum(['key', 'password', 'agent']),
  /** OpenSSH or PEM private key text. Required when creating a key server; omitted on edit = keep the stored one. */
  privateKey: z.string().max(64 * 1024).optional(),
  passphrase: z.string().max(1024).optional(),
  /** Required when creating a password server; omitted on edit = keep the stored one. */
  password: z.string().max(1024).optional(),
  tags: z.array(z.string().trim().min(1).max(40)).max(20).default([]),
  maxConcurrentJobs: z.number().int().min(1, 'at least 1').max(64, 'at most 64').default(4),
  /** Lets the server use the agent's keys during its jobs (agent credential only). Off unless explicitly enabled. */
  agentForwarding: z.boolean().default(false),
  /** Jump hosts (ProxyJump), other servers' ids, nearest to the workstation first. */
  jumpServerIds: z.array(z.string().min(1)).max(8, 'at most 8 jump hosts').default([]),
});
export type ServerInput = z.input<typeof ServerInput>;

export const ServerView = z.object({
  id: z.string(),
  name: z.string(),
  host: z.string(),
  port: z.number().int(),
  username: z.string(),
  authType: z.enum(['key', 'password', 'agent']),
  hasCredential: z.boolean(),
  agentForwarding: z.boolean(),
  /** Jump hosts, nearest first, with their names for display. */
  jumpHosts: z.array(z.object({ id: z.string(), name: z.string() })),
  hostKeyFingerprint: z.string().nullable(),
  tags: z.array(z.string()),
  maxConcurrentJobs: z.number().int(),
  lastConnection: z
    .object({ at: z.string(), ok: z.boolean(), message: z.string().nullable(), latencyMs: z.number().nullable() })
    .nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ServerView = z.infer<typeof ServerView>;

/** What "Test connection" found. 'untrusted' and 'changed' carry what the user must see before deciding. */
export const ConnectionTestResult = z.discriminatedUnion('status', [
  z.object({ status: z.literal('ok'), latencyMs: z.number(), fingerprint: z.string(), message: z.string() }),
  z.object({ status: z.literal('untrusted'), fingerprint: z.string(), algorithm: z.string(), message: z.string() }),
  z.object({ status: z.literal('changed'), expected: z.string(), actual: z.string(), message: z.string() }),
  z.object({ status: z.literal('error'), code: errorCodeSchema(), message: z.string() }),
]);
export type ConnectionTestResult = z.infer<typeof ConnectionTestResult>;

/** Where to read an OpenSSH client config from; paths default to ~/.ssh/config and ~/.ssh/known_hosts of the app's user. */
export const SshConfigSource = z.object({
  configPath: z.string().trim().min(1).max(4096).optional(),
  knownHostsPath: z.string().trim().min(1).max(4096).optional(),
  /** Host aliases the user unticked in the preview: neither created nor updated. */
  exclude: z.array(z.string().min(1).max(255)).max(1000).default([]),
});
export type SshConfigSource = z.input<typeof SshConfigSource>;

/** Where a finding came from: the file and 1-based line, and the Host alias it concerns when there is one. */
const ConfigPlace = z.object({ file: z.string(), line: z.number().int().nullable(), host: z.string().nullable() });

/** The host key offered for a server, from known_hosts. 'mismatch': known_hosts disagrees (with itself or with Cronium's pin). */
export const ImportedHostKey = z.object({
  status: z.enum(['known', 'unknown', 'mismatch', 'pinned']),
  fingerprint: z.string().nullable(),
  algorithm: z.string().nullable(),
  /** Where the key was found, e.g. "~/.ssh/known_hosts:12 (hashed)". */
  source: z.string().nullable(),
  message: z.string(),
});

export const ImportedServer = z.object({
  alias: z.string(),
  action: z.enum(['create', 'update', 'unchanged']),
  host: z.string(),
  port: z.number().int(),
  username: z.string(),
  authType: z.enum(['key', 'agent']),
  /** The IdentityFile the key is read from (its content goes to the keychain on import, never to the window). */
  identityFile: z.string().nullable(),
  identitiesOnly: z.boolean(),
  /** ProxyJump hops, nearest first, as aliases of other imported (or existing) servers. */
  jumpHosts: z.array(z.string()),
  hostKey: ImportedHostKey,
  /** What changes on an existing server ("port 22 → 2222"), or notes on a new one. */
  changes: z.array(z.string()),
  excluded: z.boolean(),
  place: ConfigPlace,
});
export type ImportedServer = z.infer<typeof ImportedServer>;

export const SshConfigPreview = z.object({
  configPath: z.string(),
  knownHostsPath: z.string(),
  /** Every file read, main config first then Includes in order. */
  files: z.array(z.string()),
  servers: z.array(ImportedServer),
  /** Options Cronium does not use, and why; they do not block the import. */
  unsupported: z.array(ConfigPlace.extend({ option: z.string(), why: z.string() })),
  /** Problems that block the import until fixed (or the host is unticked): syntax, loops, unreadable keys. */
  errors: z.array(ConfigPlace.extend({ message: z.string() })),
});
export type SshConfigPreview = z.infer<typeof SshConfigPreview>;

export const SshConfigImportResult = z.object({ created: z.array(z.string()), updated: z.array(z.string()) });

export const serversCalls = {
  /** Reads an OpenSSH config (with its Includes) and known_hosts; saves nothing. */
  'servers/importPreview': call(SshConfigSource, SshConfigPreview),
  /** Reads the files again and saves what the preview showed, in one transaction; refused while there are errors. */
  'servers/importApply': call(SshConfigSource, SshConfigImportResult),
  'servers/list': call(z.object({ tag: z.string().optional() }).optional(), z.array(ServerView)),
  'servers/get': call(ServerId, ServerView),
  'servers/save': call(ServerInput, ServerView),
  'servers/delete': call(ServerId, Ok),
  'servers/test': call(ServerId, ConnectionTestResult),
  /**
   * Pin the host key the user approved. `fingerprint` must equal what the server presents now; replacing an already
   * pinned, different key needs `replace: true` (the explicit re-trust action).
   */
  'servers/trustHostKey': call(
    z.object({ id: z.string().min(1), fingerprint: z.string().startsWith('SHA256:'), replace: z.boolean().default(false) }),
    ServerView,
  ),
};

export const serversEvents = {
  'servers/changed': z.object({ server: ServerView.nullable(), deletedId: z.string().optional() }),
};
