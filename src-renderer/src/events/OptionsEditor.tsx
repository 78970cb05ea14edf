/**
 * OptionsEditor: the event editor's "Run-time parameters" section: the options an event declares (name, type, choices,
 * default, required, secret). Values reach scripts as CRONIUM_OPT_<NAME> and through input(); a secret option has no
 * default (it would be stored in plain text) and its value is asked at every manual run.
 */
import { Button } from '../components/Button';
import { fieldError } from '../components/field-errors';
import { emptyOptionRow, type OptionRow } from './event-form';
import { optionEnvName } from '../../../src-shared/contract/run-parameters';

export function OptionsEditor({ rows, errors, onChange }: { rows: OptionRow[]; errors: Record<string, string>; onChange: (rows: OptionRow[]) => void }) {
  const update = (i: number, patch: Partial<OptionRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset className="editor-section" aria-label="Run-time parameters">
      <legend>Run-time parameters</legend>
      <p className="section-description">
        Asked for when the event is run by hand (schedules use the defaults). Scripts read them as <code>CRONIUM_OPT_NAME</code> and through{' '}
        <code>input()</code>. A secret value is masked in logs and never stored.
      </p>
      <div className="kv-list" role="group" aria-label="Options">
        {rows.map((row, i) => {
          const error = fieldError(errors, `options.${i}`);
          return (
            <div key={i} className={`kv-row option-row${error ? ' field-invalid' : ''}`} data-testid={`option-row-${i}`}>
              <input type="text" className="mono" aria-label={`Option ${i + 1} name`} placeholder="name" value={row.name} onChange={(e) => update(i, { name: e.target.value })} />
              <select aria-label={`Option ${i + 1} type`} value={row.type} onChange={(e) => update(i, { type: e.target.value as OptionRow['type'] })}>
                <option value="string">text</option>
                <option value="number">number</option>
                <option value="boolean">yes / no</option>
                <option value="choice">choice</option>
              </select>
              {row.type === 'choice' && (
                <input type="text" aria-label={`Option ${i + 1} choices`} placeholder="eu, us" value={row.choices} onChange={(e) => update(i, { choices: e.target.value })} />
              )}
              <input
                type="text"
                aria-label={`Option ${i + 1} default`}
                placeholder={row.secret ? 'no default for a secret' : 'default'}
                disabled={row.secret}
                value={row.defaultValue}
                onChange={(e) => update(i, { defaultValue: e.target.value })}
              />
              <label className="checkbox-item">
                <input type="checkbox" checked={row.required} onChange={(e) => update(i, { required: e.target.checked })} /> required
              </label>
              <label className="checkbox-item">
                <input type="checkbox" checked={row.secret} onChange={(e) => update(i, { secret: e.target.checked, defaultValue: e.target.checked ? '' : row.defaultValue })} /> secret
              </label>
              <Button variant="ghost" aria-label={`Remove option ${row.name || i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
                Remove
              </Button>
              {row.name && <span className="muted mono option-env">{optionEnvName(row.name)}</span>}
              {error && (
                <p className="field-error kv-error" role="alert">
                  {error}
                </p>
              )}
            </div>
          );
        })}
        <Button variant="ghost" onClick={() => onChange([...rows, emptyOptionRow()])}>
          + Add option
        </Button>
      </div>
    </fieldset>
  );
}
