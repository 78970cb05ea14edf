/**
 * Names a variable, an event's plain env or a secret may not take, because they change how a shell or an interpreter
 * starts (a script that could set them would run its code in every later job). Shared so the app refuses them
 * everywhere a name is set and forms can say so at the field. The list is documented in docs/helpers.md.
 */

/** Exact names refused (compared case-sensitively, as the environment is). */
export const REFUSED_VARIABLE_NAMES: readonly string[] = [
  'BASH_ENV', 'ENV', 'PATH', 'IFS', 'PS4', 'SHELLOPTS', 'BASHOPTS', 'CDPATH', 'GLOBIGNORE', 'PROMPT_COMMAND',
  'HOME', 'SHELL', 'ZDOTDIR', 'NODE_OPTIONS', 'NODE_PATH', 'BASH_XTRACEFD', 'HISTFILE', 'TMPDIR',
];

/** Prefixes refused: the dynamic loader, interpreters' start-up settings, bash's exported functions. */
export const REFUSED_VARIABLE_PREFIXES: readonly string[] = ['LD_', 'DYLD_', 'PYTHON', 'PERL5', 'PERL_', 'RUBY', 'BASH_FUNC_', 'CRONIUM_'];

/** Why `name` is refused, or null when it may be used. */
export function refusedVariableNameReason(name: string): string | null {
  if (REFUSED_VARIABLE_NAMES.includes(name)) return `${name} changes how a shell or interpreter starts, so Cronium does not let a variable set it`;
  const prefix = REFUSED_VARIABLE_PREFIXES.find((p) => name.startsWith(p));
  if (prefix === 'CRONIUM_') return `${name}: names starting with CRONIUM_ are Cronium's own`;
  if (prefix) return `${name}: names starting with ${prefix} change how a program or interpreter starts, so Cronium does not let a variable set them`;
  return null;
}

/** Secrets shorter than this would garble every log they are masked in (one letter is in every line). */
export const MIN_SECRET_LENGTH = 3;
export const SECRET_TOO_SHORT_MESSAGE = `a secret needs at least ${MIN_SECRET_LENGTH} characters (shorter values cannot be masked in logs without hiding ordinary text)`;

/** Direct-ssh mode hands a variable to the script under this prefix (never under its own name). */
export const VARIABLE_ENV_PREFIX = 'CRONIUM_VAR_';

/** A run-time parameter (an event option) reaches the script as CRONIUM_OPT_<NAME> (never under its own name). */
export const OPTION_ENV_PREFIX = 'CRONIUM_OPT_';
