/**
 * Logs: the output of a job, stored as lines with sequence numbers (in compressed blocks, log_blocks) and streamed live to subscribed
 * renderers. Statuses follow ARCHITECTURE.md (PENDING, RUNNING, STREAMING, final, PARTIAL).
 */
import { z } from 'zod';
import { call, Ok } from './define';
import { ExecutionMode } from './settings';

export const LogStatus = z.enum(['PENDING', 'RUNNING', 'STREAMING', 'SUCCESS', 'FAILURE', 'TIMEOUT', 'CANCELLED', 'PARTIAL']);
export type LogStatus = z.infer<typeof LogStatus>;

export const LogStream = z.enum(['stdout', 'stderr', 'system']);
export type LogStream = z.infer<typeof LogStream>;

export const LogLine = z.object({ seq: z.number().int(), stream: LogStream, ts: z.string(), text: z.string() });
export type LogLine = z.infer<typeof LogLine>;

export const LogView = z.object({
  id: z.string(),
  jobId: z.string(),
  eventId: z.string().nullable(),
  eventName: z.string().nullable(),
  serverId: z.string().nullable(),
  serverName: z.string().nullable(),
  status: LogStatus,
  executionMode: ExecutionMode.nullable(),
  lineCount: z.number().int(),
  lastSequence: z.number().int(),
  exitCode: z.number().int().nullable(),
  reason: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  runnerVersion: z.string().nullable(),
  streamStartedAt: z.string().nullable(),
  runnerMetadata: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
});
export type LogView = z.infer<typeof LogView>;

export const LogFilter = z.object({
  status: LogStatus.optional(),
  eventId: z.string().optional(),
  serverId: z.string().optional(),
  /** ISO times bounding created_at. */
  from: z.string().optional(),
  to: z.string().optional(),
  limit: z.number().int().min(1).max(500).default(100),
  offset: z.number().int().min(0).default(0),
});

export const logsCalls = {
  'logs/list': call(LogFilter.optional(), z.object({ items: z.array(LogView), total: z.number().int() })),
  'logs/get': call(z.object({ id: z.string().min(1) }), LogView),
  /** Lines with seq > afterSeq, in order, at most `limit`. */
  'logs/lines': call(
    z.object({ id: z.string().min(1), afterSeq: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(20000).default(5000) }),
    z.object({ lines: z.array(LogLine), lastSequence: z.number().int() }),
  ),
  /** Sequence numbers of lines containing `query` (case-insensitive), for the viewer's search. */
  'logs/search': call(
    z.object({ id: z.string().min(1), query: z.string().min(1).max(500), limit: z.number().int().min(1).max(10000).default(1000) }),
    z.object({ seqs: z.array(z.number().int()), truncated: z.boolean() }),
  ),
  /** Start / stop receiving 'logs/lines' pushes for a log. */
  'logs/subscribe': call(z.object({ id: z.string().min(1) }), Ok),
  'logs/unsubscribe': call(z.object({ id: z.string().min(1) }), Ok),
};

export const logsEvents = {
  /** New lines of a subscribed log, in sequence order, coalesced. */
  'logs/lines': z.object({ logId: z.string(), lines: z.array(LogLine) }),
  'logs/changed': z.object({ log: LogView }),
};
