/**
 * Variables: the values scripts read and write through the helpers (getVariable / setVariable), listed for the
 * Variables view. Secret ones are listed without their value. Each says which job last set it.
 */
import { z } from 'zod';
import { call } from './define';

export const VariableView = z.object({
  id: z.string(),
  /** 'global' or 'event:<id>'. */
  scope: z.string(),
  /** The event's name for an event scope (null for global, or an event that no longer exists). */
  eventName: z.string().nullable(),
  key: z.string(),
  /** Null for a secret variable. */
  value: z.string().nullable(),
  secret: z.boolean(),
  updatedAt: z.string(),
  /** The job that last set it (null: set by a person, or before this was recorded). */
  setByJobId: z.string().nullable(),
});
export type VariableView = z.infer<typeof VariableView>;

export const variablesCalls = {
  'variables/list': call(z.void().optional(), z.object({ items: z.array(VariableView) })),
};

export const variablesEvents = {};
