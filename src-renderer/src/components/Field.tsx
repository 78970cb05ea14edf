/**
 * Field: a labelled form control with its help text, its error text (from AppError.fields) and, when an environment
 * variable pins the value, a read-only note naming the variable. The label is tied to the control for screen readers.
 */
import { useId, type ReactNode } from 'react';

export interface FieldProps {
  label: string;
  error?: string;
  help?: string;
  /** The environment variable that pins this field, e.g. RUNNER_CACHE_TTL_DAYS. */
  pinnedBy?: string;
  children: (control: { id: string; describedBy: string | undefined; invalid: boolean; readOnly: boolean }) => ReactNode;
}

export function Field({ label, error, help, pinnedBy, children }: FieldProps) {
  const id = useId();
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const pinId = `${id}-pin`;
  const describedBy = [error && errorId, pinnedBy && pinId, help && helpId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${error ? ' field-invalid' : ''}${pinnedBy ? ' field-pinned' : ''}`}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <div className="field-control">{children({ id, describedBy, invalid: Boolean(error), readOnly: Boolean(pinnedBy) })}</div>
      {pinnedBy && (
        <p className="field-pin" id={pinId}>
          set by {pinnedBy}
        </p>
      )}
      {error && (
        <p className="field-error" id={errorId} role="alert">
          {error}
        </p>
      )}
      {help && !error && (
        <p className="field-help" id={helpId}>
          {help}
        </p>
      )}
    </div>
  );
}
