/**
 * The catalogue file format (version 1): strict zod schemas for every item, derived from the contract's own input
 * schemas so a field added to events or workflows is exported and imported without a second definition. Items
 * refer to each other by name (servers of an event, the event and server of a workflow step, the event or workflow
 * of a variable scope), so the file reads and diffs like a description, not a database dump. Strict everywhere the
 * file adds structure: an unknown field is a problem, not silently dropped. Servers, events and workflows are known
 * by name (ids are local to one data folder), so a file exported here and imported elsewhere, edited in version
 * control and imported again updates what it created instead of conflicting with it.
 */
import { z } from 'zod';
import { EventInput } from '../../../src-shared/contract/events';
import { WorkflowEdgeInput, WorkflowInput, WorkflowNodeInput } from '../../../src-shared/contract/workflows';

export const CATALOGUE_FORMAT = 'cronium-catalogue';
/** The newest format this build reads and the one it writes. */
export const CATALOGUE_FORMAT_VERSION = 1;

const Name = z.string().trim().min(1).max(200);

export const ServerItem = z
  .object({
    name: Name,
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535),
    username: z.string().min(1).max(64),
    authType: z.enum(['key', 'password', 'agent']),
    /** The pinned host key (public; re-checked on first connect). Credentials are never in the file. */
    hostKeyFingerprint: z.string().max(200).nullable(),
    hostKeyAlgorithm: z.string().max(100).nullable(),
    tags: z.array(z.string().min(1).max(40)).max(20),
    maxConcurrentJobs: z.number().int().min(1).max(64),
    agentForwarding: z.boolean(),
    /** Jump hosts by server name, nearest to the workstation first. */
    jumpServers: z.array(Name).max(8),
  })
  .strict();
export type ServerItem = z.infer<typeof ServerItem>;

/** The EventInput fields a file carries as they are (everything but id, secrets and serverIds). */
export const EventFields = EventInput.omit({ id: true, secrets: true, serverIds: true });
export const EVENT_FIELD_KEYS = Object.keys(EventFields.shape) as Array<keyof z.infer<typeof EventFields>>;

export const EventItem = EventFields.extend({
  version: z.number().int().min(1),
  /** Server names. */
  servers: z.array(Name),
  /** Names of the event's secret variables; their values are never in a file. */
  secrets: z.array(z.string().min(1).max(128)),
}).strict();
export type EventItem = z.infer<typeof EventItem>;

export const NodeFields = WorkflowNodeInput.omit({ eventId: true, serverId: true });
export const NODE_FIELD_KEYS = Object.keys(NodeFields.shape) as Array<keyof z.infer<typeof NodeFields>>;
export const WorkflowNodeItem = NodeFields.extend({ event: Name, server: Name.nullable() }).strict();
export const WorkflowFields = WorkflowInput.omit({ id: true, nodes: true, edges: true });
export const WORKFLOW_FIELD_KEYS = Object.keys(WorkflowFields.shape) as Array<keyof z.infer<typeof WorkflowFields>>;
export const EDGE_FIELD_KEYS = Object.keys(WorkflowEdgeInput.shape) as Array<keyof z.infer<typeof WorkflowEdgeInput>>;

export const WorkflowItem = WorkflowFields.extend({
  version: z.number().int().min(1),
  nodes: z.array(WorkflowNodeItem),
  edges: z.array(WorkflowEdgeInput.strict()),
}).strict();
export type WorkflowItem = z.infer<typeof WorkflowItem>;

/** 'global', 'event:<event name>' or 'workflow:<workflow name>'. */
export const VariableItem = z
  .object({
    scope: z.string().regex(/^(global|event:.+|workflow:.+)$/, "must be 'global', 'event:<event name>' or 'workflow:<workflow name>'"),
    key: z.string().min(1).max(256),
    value: z.string().optional(),
    /** A secret variable: the file lists it, its value stays out (enter it after import). */
    secret: z.literal(true).optional(),
  })
  .strict()
  .refine((v) => (v.value === undefined) !== (v.secret === undefined), { message: 'give either value or secret: true' });
export type VariableItem = z.infer<typeof VariableItem>;

/** Only the header, read first: a newer format is refused before its items are judged by this build's rules. */
export const CatalogueHeader = z.object({ format: z.literal(CATALOGUE_FORMAT), formatVersion: z.number().int().min(1) }).passthrough();

export const CatalogueDocument = z
  .object({
    format: z.literal(CATALOGUE_FORMAT),
    formatVersion: z.literal(CATALOGUE_FORMAT_VERSION),
    servers: z.array(ServerItem).default([]),
    events: z.array(EventItem).default([]),
    workflows: z.array(WorkflowItem).default([]),
    variables: z.array(VariableItem).default([]),
  })
  .strict();
export type CatalogueDocument = z.infer<typeof CatalogueDocument>;
