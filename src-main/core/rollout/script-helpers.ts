/**
 * What a script asks of Cronium, read from its text for the migration wizard (docs/helpers.md): the helper calls it
 * makes (which runner mode answers, and direct-ssh mostly does not) and the direct-ssh-only environment it reads
 * (which runner mode does not set, so moving it would silently change what it sees). Pure text analysis: it never
 * runs the script, and it errs on the side of reporting (a name in a comment still counts).
 */
import type { ScriptType } from '../../../src-shared/contract/events';

export interface ScriptHelperUse {
  /** Helper calls in the script, spelled as in docs/helpers.md ('cronium_get_variable', 'cronium.output'). */
  helpers: string[];
  /** direct-ssh-only variables the script reads, each with what to use in runner mode instead. */
  directOnly: Array<{ name: string; instead: string }>;
}

const BASH_HELPERS = /\bcronium_(set_variable|set_secret_variable|get_variable|input|output|set_condition|event)\b/g;
const LIB_HELPERS = /\bcronium\.(setVariable|getVariable|input|output|setCondition|event)\s*\(/g;

/** Set only by direct-ssh (direct-ssh-executor.ts); the runner sets CRONIUM_JOB_ID and its own helper variables. */
const DIRECT_ONLY: Array<{ re: RegExp; instead: (name: string, type: ScriptType) => string }> = [
  { re: /\bCRONIUM_VAR_[A-Za-z_][A-Za-z0-9_]*/g, instead: (name, t) => getVariable(name.slice('CRONIUM_VAR_'.length), t) },
  { re: /\bCRONIUM_VARIABLES\b/g, instead: (_n, t) => getVariable('<name>', t) },
  { re: /\bCRONIUM_INPUT\b/g, instead: (_n, t) => (t === 'bash' ? 'cronium_input' : 'cronium.input()') },
  { re: /\bCRONIUM_(EVENT_ID|EVENT_VERSION|ATTEMPT)\b/g, instead: (_n, t) => (t === 'bash' ? 'cronium_event' : 'cronium.event()') },
];

function getVariable(name: string, type: ScriptType): string {
  return type === 'bash' ? `cronium_get_variable ${name}` : `cronium.getVariable("${name}")`;
}

export function scriptHelperUse(content: string, type: ScriptType): ScriptHelperUse {
  const helpers = new Set<string>();
  for (const m of content.matchAll(BASH_HELPERS)) helpers.add(`cronium_${m[1]}`);
  for (const m of content.matchAll(LIB_HELPERS)) helpers.add(`cronium.${m[1]}`);
  const directOnly = new Map<string, string>();
  for (const rule of DIRECT_ONLY) {
    for (const m of content.matchAll(rule.re)) if (!directOnly.has(m[0])) directOnly.set(m[0], rule.instead(m[0], type));
  }
  return { helpers: [...helpers].sort(), directOnly: [...directOnly].map(([name, instead]) => ({ name, instead })) };
}
