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
  authType: z.enum(['key', 'password']),
  /** OpenSSH or PEM private key text. Required when creating a key server; omitted on edit = keep the stored one. */
  privateKey: z.string().max(64 * 1024).optional(),
  passphrase: z.string().max(1024).optional(),
  /** Required when creating a password server; omitted on edit = keep the stored one. */
  password: z.string().max(1024).optional(),
  tags: z.array(z.string().trim().min(1).max(40)).max(20).default([]),
  maxConcurrentJobs: z.number().int().min(1, 'at least 1').max(64, 'at most 64').default(4),
});
export type ServerInput = z.input<typeof ServerInput>;

export const ServerView = z.object({
  id: z.string(),
  name: z.string(),
  host: z.string(),
  port: z.number().int(),
  username: z.string(),
  authType: z.enum(['key', 'password']),
  hasCredential: z.boolean(),
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

export const serversCalls = {
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
