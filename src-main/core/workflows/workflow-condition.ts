/**
 * WorkflowCondition: the expressions on ON_CONDITION edges, in CEL (Common Expression Language, @marcbachmann/cel-js):
 * a small, non-Turing-complete language that is interpreted, never eval'd, and type-checked at save time against the
 * variables a finished step offers. It owns parsing, checking and evaluating; it never decides which edge fires.
 *
 * Variables: status (string: SUCCESS, FAILURE, TIMEOUT, PARTIAL, CANCELLED), exitCode (int, or null when the process
 * never exited), output (the step's output(), any JSON), condition (setCondition()'s value: bool or null), input.
 * An expression that fails while evaluating (e.g. a key missing from output) counts as false, with the reason kept.
 */
import { Environment } from '@marcbachmann/cel-js';
import { messageOf } from '../errors';

export interface StepOutcome {
  status: string;
  exitCode: number | null;
  output: unknown;
  condition: boolean | null;
  input: unknown;
}

const environment = new Environment({ homogeneousAggregateLiterals: false })
  .registerVariable('status', 'string')
  .registerVariable('exitCode', 'dyn')
  .registerVariable('output', 'dyn')
  .registerVariable('condition', 'dyn')
  .registerVariable('input', 'dyn');

/** The first line of a cel-js message (the rest draws a caret under the source, which the editor does itself). */
function firstLine(err: unknown): string {
  const text = messageOf(err);
  return text.split('\n')[0]!.trim();
}

/** null when the expression is usable; otherwise why not, in words for the edge's error label. */
export function checkCondition(expression: string): string | null {
  let parsed;
  try {
    parsed = environment.parse(expression);
  } catch (err) {
    return `the condition does not parse: ${firstLine(err)}`;
  }
  const checked = parsed.check();
  if (!checked.valid) return `the condition is not valid: ${firstLine(checked.error)}`;
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return `the condition must be true or false, but it gives a value of type ${checked.type}`;
  }
  return null;
}

/** JSON values as CEL sees them: whole numbers stay doubles (CEL compares int and double), exit codes become ints. */
function contextOf(outcome: StepOutcome): Record<string, unknown> {
  return {
    status: outcome.status,
    exitCode: outcome.exitCode === null ? null : BigInt(outcome.exitCode),
    output: outcome.output ?? null,
    condition: outcome.condition,
    input: outcome.input ?? null,
  };
}

export function evaluateCondition(expression: string, outcome: StepOutcome): { value: boolean; error?: string } {
  try {
    const value: unknown = environment.evaluate(expression, contextOf(outcome));
    if (typeof value !== 'boolean') return { value: false, error: `the condition gave ${String(value)}, not true or false` };
    return { value };
  } catch (err) {
    return { value: false, error: `the condition could not be evaluated: ${firstLine(err)}` };
  }
}
