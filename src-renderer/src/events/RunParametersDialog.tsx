/**
 * RunParametersDialog: asks for an event's run-time parameters before a run (Run now, run again, re-run failed).
 * Every field is checked at once with the shared zod rules (checkParameters) and each message shows at its field;
 * the main process's field errors land the same way. Secret values are typed each time and never prefilled.
 */
import { useState, type FormEvent } from 'react';
import type { EventOption, ParameterValue, ParameterValues } from '../../../src-shared/contract/run-parameters';
import { checkParameters, optionEnvName } from '../../../src-shared/contract/run-parameters';
import { Button } from '../components/Button';
import { Dialog } from '../components/Dialog';
import { Field } from '../components/Field';
import { fieldError, unclaimedErrors } from '../components/field-errors';

export interface RunParametersDialogProps {
  title: string;
  submitLabel: string;
  options: EventOption[];
  /** Values to start from (a previous run's plain values); defaults fill the rest. */
  initial?: Record<string, ParameterValue>;
  onSubmit: (values: ParameterValues) => Promise<{ ok: true } | { ok: false; message: string; fields: Record<string, string> }>;
  onClose: () => void;
}

function startText(o: EventOption, initial: Record<string, ParameterValue> | undefined): string {
  if (o.secret) return '';
  const v = initial?.[o.name] ?? o.default;
  return v === null || v === undefined ? '' : String(v);
}

export function RunParametersDialog({ title, submitLabel, options, initial, onSubmit, onClose }: RunParametersDialogProps) {
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(options.map((o) => [o.name, startText(o, initial)])));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const change = (name: string, value: string) => {
    setValues((v) => ({ ...v, [name]: value }));
    setErrors((e) => {
      const next = { ...e };
      delete next[`parameters.${name}`];
      return next;
    });
  };

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
    const check = checkParameters(options, given);
    if (Object.keys(check.errors).length > 0) {
      setErrors(check.errors);
      setFormError(`${Object.keys(check.errors).length} field${Object.keys(check.errors).length === 1 ? '' : 's'} to fix.`);
      return;
    }
    setBusy(true);
    const outcome = await onSubmit(check.values);
    setBusy(false);
    if (outcome.ok) return onClose();
    setErrors(outcome.fields);
    const stray = unclaimedErrors(outcome.fields, options.map((o) => `parameters.${o.name}`));
    setFormError(stray.length ? stray.join('; ') : Object.keys(outcome.fields).length ? 'Fix the fields marked below.' : outcome.message);
  };

  return (
    <Dialog
      title={title}
      onClose={onClose}
      busy={busy}
      actions={
        <>
          <Button onClick={onClose} disabled={busy}>
            Cancel
          </Button>
          <Button variant="primary" busy={busy} onClick={() => void submit()}>
            {submitLabel}
          </Button>
        </>
      }
    >
      <form className="run-parameters" aria-label="Run parameters" onSubmit={(e) => void submit(e)} noValidate>
        {formError && (
          <p className="form-error" role="alert">
            {formError}
          </p>
        )}
        {options.map((o) => {
          const error = fieldError(errors, `parameters.${o.name}`);
          const label = `${o.label || o.name}${o.required ? ' *' : ''}`;
          return (
            <Field key={o.name} label={label} error={error} help={`${optionEnvName(o.name)}${o.secret ? ' · secret: masked in logs, not stored' : ''}`}>
              {({ id, describedBy, invalid }) =>
                o.type === 'choice' || o.type === 'boolean' ? (
                  <select id={id} name={o.name} value={values[o.name] ?? ''} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => change(o.name, e.target.value)}>
                    <option value="">{o.required ? 'choose…' : '(none)'}</option>
                    {(o.type === 'choice' ? o.choices : ['true', 'false']).map((c) => (
                      <option key={c} value={c}>
                        {o.type === 'boolean' ? (c === 'true' ? 'yes' : 'no') : c}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input
                    id={id}
                    name={o.name}
                    type={o.secret ? 'password' : 'text'}
                    autoComplete={o.secret ? 'new-password' : 'off'}
                    inputMode={o.type === 'number' ? 'decimal' : undefined}
                    value={values[o.name] ?? ''}
                    aria-invalid={invalid || undefined}
                    aria-describedby={describedBy}
                    onChange={(e) => change(o.name, e.target.value)}
                  />
                )
              }
            </Field>
          );
        })}
        <button type="submit" hidden aria-hidden="true" tabIndex={-1} />
      </form>
    </Dialog>
  );
}
