/**
 * Field errors from AppError.fields: keys are field paths ("port", "env.1BAD", "schedule.expression"). A form shows at
 * a field the message for its own key or for anything below it, so no message is lost for want of an exact key.
 */
export function fieldError(errors: Record<string, string>, name: string): string | undefined {
  if (errors[name]) return errors[name];
  const prefix = `${name}.`;
  const key = Object.keys(errors).find((k) => k.startsWith(prefix));
  return key ? errors[key] : undefined;
}

/** Messages whose key no field of the form claims, so they can be shown above it instead of being dropped. */
export function unclaimedErrors(errors: Record<string, string>, claimed: readonly string[]): string[] {
  return Object.entries(errors)
    .filter(([k]) => !claimed.some((c) => k === c || k.startsWith(`${c}.`)))
    .map(([k, v]) => `${k}: ${v}`);
}
