/**
 * Zod issues as field messages ("runner.cacheTtlDays" -> message; "_" for the input as a whole), the first issue of
 * each field winning. Shared so the main process (router, services) and the renderer's forms (which check a whole
 * input before sending it, to report every invalid field at once) place messages by the same keys.
 */
export function zodFieldErrors(issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const key = issue.path.map(String).join('.') || '_';
    if (!(key in fields)) fields[key] = issue.message;
  }
  return fields;
}
