/**
 * The execution-mode decision moved to core/execution/mode-policy.ts (ModePolicy), the one home of "run this event on
 * this server"; this module only points there for code that still imports it from jobs/.
 */
export { ModePolicy, type ModeDecision, type ModeRequest, type RunMode } from '../execution/mode-policy';
