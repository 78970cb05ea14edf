/**
 * EventEditor: create or edit an event: script (with highlighting), variables and secrets, limits and retries,
 * targets, execution mode (with the runner compatibility warning) and schedule. Every error from the main process is
 * shown at its field and the form keeps what the user typed. Secret values are write-only: stored ones show as "set".
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { EventView, ScriptType } from '../../../src-shared/contract/events';
import type { RunnerCompatibility } from '../../../src-shared/contract/runners';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { Field } from '../components/Field';
import { fieldError, unclaimedErrors } from '../components/field-errors';
import { ToggleSwitch } from '../components/ToggleSwitch';
import { runnerCompatibility, useEventsStore } from '../stores/events-store';
import { useServersStore } from '../stores/servers-store';
import { useSettingsStore } from '../stores/settings-store';
import { useRolloutStore } from '../stores/rollout-store';
import { CodeEditor } from './CodeEditor';
import { allFormErrors, emptyForm, formFromEvent, inputFromForm, SCRIPT_TEMPLATES, type EventForm, type SelectableMode } from './event-form';
import { ScheduleFields } from './ScheduleFields';
import { OptionsEditor } from './OptionsEditor';

const CLAIMED = [
  'name', 'description', 'scriptType', 'content', 'env', 'secrets', 'timeoutSeconds', 'retries', 'retryBackoffSeconds',
  'executionMode', 'runnerRequirements', 'serverIds', 'schedule', 'timeZone', 'misfirePolicy', 'overlapPolicy', 'enabled',
  'firesOn', 'targetTags', 'maxParallel', 'options', 'scheduleParameters',
];

const MODE_HELP: Record<SelectableMode, string> = {
  auto: 'Uses the runner where one can be used, otherwise runs over SSH directly.',
  'direct-ssh': 'Sends the script over SSH and streams its output; the job ends if the connection drops.',
  'runner-ssh': 'Runs through the runner deployed on the server; survives lost connections and replays output.',
};

function useRunnerWarning(mode: SelectableMode, serverIds: string[], names: Map<string, string>): string | null {
  const [result, setResult] = useState<RunnerCompatibility[] | null>(null);
  const key = serverIds.join(',');
  useEffect(() => {
    if (mode !== 'runner-ssh' || serverIds.length === 0) {
      setResult(null);
      return;
    }
    let live = true;
    void runnerCompatibility(serverIds, null).then((r) => live && setResult(r));
    return () => {
      live = false;
    };
  }, [mode, key]); // serverIds is read through key
  if (mode !== 'runner-ssh' || !result) return null;
  const missing = result.filter((r) => !r.compatible);
  if (missing.length === 0) return null;
  return missing.map((r) => `${names.get(r.serverId) ?? r.serverId}: ${r.reason ?? 'no compatible runner deployed yet'}`).join('; ');
}

export function EventEditor({ event, onClose, onSaved }: { event: EventView | null; onClose: () => void; onSaved: (e: EventView) => void }) {
  const servers = useServersStore((s) => s.servers);
  const save = useEventsStore((s) => s.save);
  // Phase 2: the mode a new event starts with is the policy's (rollout/status), else the settings' default.
  const settingsMode = useSettingsStore((s) => s.view?.settings.runner.defaultExecutionMode) as SelectableMode | undefined;
  const defaultMode = (useRolloutStore((s) => s.status?.newEventMode) as SelectableMode | undefined) ?? settingsMode;
  const [form, setForm] = useState<EventForm>(() => (event ? formFromEvent(event) : emptyForm(defaultMode ?? 'auto')));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const names = new Map(servers.map((s) => [s.id, s.name]));
  const runnerWarning = useRunnerWarning(form.executionMode, form.serverIds, names);
  const err = (name: string) => fieldError(errors, name);
  const formRef = useRef<HTMLFormElement>(null);
  // After a refused save, bring the first message into view: the editor is taller than the window.
  const showFirstError = () =>
    requestAnimationFrame(() =>
      (formRef.current?.querySelector('.field-error') ?? formRef.current?.querySelector('.form-error'))?.scrollIntoView({ block: 'center' }),
    );

  useEffect(() => {
    if (!useServersStore.getState().loaded) void useServersStore.getState().load();
  }, []);

  const setField = <K extends keyof EventForm>(key: K, value: EventForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => {
      const next: Record<string, string> = {};
      for (const [k, v] of Object.entries(e)) if (k !== key && !k.startsWith(`${key}.`)) next[k] = v;
      return next;
    });
  };

  const changeScriptType = (t: ScriptType) => {
    // Swap the starter template only while the script is still the previous starter, never over the user's work.
    if (form.content === SCRIPT_TEMPLATES[form.scriptType] || !form.content.trim()) setField('content', SCRIPT_TEMPLATES[t]);
    setField('scriptType', t);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const built = inputFromForm(form, event?.id);
    const problems = allFormErrors(form, event?.id);
    if ('errors' in built || Object.keys(problems).length > 0) {
      // Every invalid field at once, each at its field (never one round per error).
      setErrors(problems);
      const stray = unclaimedErrors(problems, CLAIMED);
      setFormError(`Not saved: ${Object.keys(problems).length} field${Object.keys(problems).length === 1 ? '' : 's'} to fix${stray.length ? ` (${stray.join('; ')})` : ', marked below'}.`);
      showFirstError();
      return;
    }
    setSaving(true);
    const outcome = await save(built.input);
    setSaving(false);
    if (outcome.ok) {
      onSaved(outcome.value);
      return;
    }
    setErrors(outcome.fields);
    const stray = unclaimedErrors(outcome.fields, CLAIMED);
    setFormError(Object.keys(outcome.fields).length ? `Not saved: ${stray.length ? stray.join('; ') : 'fix the fields marked below.'}` : outcome.message);
    showFirstError();
  };

  const envRowError = (i: number, key: string) => errors[`env.${i}`] ?? (key ? errors[`env.${key}`] : undefined);
  const secretRowError = (i: number) => fieldError(errors, `secrets.${i}`);
  const generalEnvError = errors.env;

  return (
    <form ref={formRef} className="event-editor" onSubmit={submit} aria-label={event ? `Edit event ${event.name}` : 'New event'} noValidate>
      <header className="editor-header">
        <div>
          <h2 className="detail-title">{event ? `Edit ${event.name}` : 'New event'}</h2>
          {event && <p className="muted">Version {event.version}; saving creates version {event.version + 1}.</p>}
        </div>
      </header>
      {formError && (
        <p className="form-error" role="alert">
          {formError}
        </p>
      )}

      <fieldset className="editor-section">
        <legend>Script</legend>
        <div className="form-grid">
          <Field label="Name" error={err('name')}>
            {({ id, describedBy, invalid }) => (
              <input id={id} type="text" value={form.name} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('name', e.target.value)} placeholder="Nightly backup" />
            )}
          </Field>
          <Field label="Script type" error={err('scriptType')}>
            {({ id, describedBy }) => (
              <select id={id} value={form.scriptType} aria-describedby={describedBy} onChange={(e) => changeScriptType(e.target.value as ScriptType)}>
                <option value="bash">Bash</option>
                <option value="python">Python</option>
                <option value="node">Node.js</option>
              </select>
            )}
          </Field>
        </div>
        <Field label="Description" error={err('description')}>
          {({ id, describedBy }) => <textarea id={id} rows={2} value={form.description} aria-describedby={describedBy} onChange={(e) => setField('description', e.target.value)} />}
        </Field>
        <Field label="Script" error={err('content')}>
          {({ describedBy, invalid }) => (
            <CodeEditor value={form.content} onChange={(v) => setField('content', v)} scriptType={form.scriptType} invalid={invalid} describedBy={describedBy} />
          )}
        </Field>
      </fieldset>

      <fieldset className="editor-section">
        <legend>Variables</legend>
        <p className="section-description">Plain variables are stored with the event. Secret values go to the OS keychain and are masked in logs; they are never shown again.</p>
        <div className="kv-list" role="group" aria-label="Environment variables">
          {form.env.map((row, i) => (
            <div key={i} className={`kv-row${envRowError(i, row.key) ? ' field-invalid' : ''}`}>
              <input type="text" className="mono" aria-label={`Variable ${i + 1} name`} placeholder="NAME" value={row.key} onChange={(e) => setField('env', form.env.map((r, j) => (j === i ? { ...r, key: e.target.value } : r)))} />
              <input type="text" aria-label={`Variable ${i + 1} value`} placeholder="value" value={row.value} onChange={(e) => setField('env', form.env.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)))} />
              <Button variant="ghost" aria-label={`Remove variable ${row.key || i + 1}`} onClick={() => setField('env', form.env.filter((_, j) => j !== i))}>
                Remove
              </Button>
              {envRowError(i, row.key) && (
                <p className="field-error kv-error" role="alert">
                  {envRowError(i, row.key)}
                </p>
              )}
            </div>
          ))}
          {generalEnvError && <p className="field-error">{generalEnvError}</p>}
          <Button variant="ghost" onClick={() => setField('env', [...form.env, { key: '', value: '' }])}>
            + Add variable
          </Button>
        </div>
        <div className="kv-list" role="group" aria-label="Secret variables">
          {form.secrets.map((row, i) => (
            <div key={i} className={`kv-row${secretRowError(i) ? ' field-invalid' : ''}`}>
              <input
                type="text"
                className="mono"
                aria-label={`Secret ${i + 1} name`}
                placeholder="SECRET_NAME"
                value={row.name}
                readOnly={row.isSet}
                onChange={(e) => setField('secrets', form.secrets.map((r, j) => (j === i ? { ...r, name: e.target.value } : r)))}
              />
              <div className="secret-value">
                {row.isSet && <Badge tone="success">set</Badge>}
                <input
                  type="password"
                  aria-label={`Secret ${i + 1} ${row.isSet ? 'replacement value' : 'value'}`}
                  placeholder={row.isSet ? 'Type to replace the stored value' : 'value'}
                  autoComplete="new-password"
                  value={row.value}
                  onChange={(e) => setField('secrets', form.secrets.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)))}
                />
              </div>
              <Button variant="ghost" aria-label={`Remove secret ${row.name || i + 1}`} onClick={() => setField('secrets', form.secrets.filter((_, j) => j !== i))}>
                Remove
              </Button>
              {secretRowError(i) && (
                <p className="field-error kv-error" role="alert">
                  {secretRowError(i)}
                </p>
              )}
            </div>
          ))}
          <Button variant="ghost" onClick={() => setField('secrets', [...form.secrets, { name: '', isSet: false, value: '' }])}>
            + Add secret
          </Button>
        </div>
      </fieldset>

      <fieldset className="editor-section">
        <legend>Where and how it runs</legend>
        <Field label="Target servers" error={err('serverIds')} help={servers.length === 0 ? 'Add a server first, in the Servers pane.' : 'One job per server on every run.'}>
          {({ id, describedBy }) => (
            <div id={id} className="checkbox-list" role="group" aria-describedby={describedBy}>
              {servers.map((s) => (
                <label key={s.id} className="checkbox-item">
                  <input
                    type="checkbox"
                    checked={form.serverIds.includes(s.id)}
                    onChange={(e) => setField('serverIds', e.target.checked ? [...form.serverIds, s.id] : form.serverIds.filter((x) => x !== s.id))}
                  />
                  <span>{s.name}</span>
                  <span className="muted mono">{s.host}</span>
                </label>
              ))}
            </div>
          )}
        </Field>
        <div className="form-grid">
          <Field label="Target tags" error={err('targetTags')} help="Every server carrying one of these tags when a run starts, comma separated.">
            {({ id, describedBy, invalid }) => (
              <input id={id} type="text" value={form.targetTags} placeholder="web, eu" aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('targetTags', e.target.value)} />
            )}
          </Field>
          <Field label="Servers at once" error={err('maxParallel')} help="At most this many servers of one run at the same time; empty for no limit.">
            {({ id, describedBy, invalid }) => (
              <input id={id} type="text" inputMode="numeric" value={form.maxParallel} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('maxParallel', e.target.value)} />
            )}
          </Field>
        </div>
        <div className="form-grid">
          <Field label="Execution mode" error={err('executionMode')} help={MODE_HELP[form.executionMode]}>
            {({ id, describedBy }) => (
              <select id={id} value={form.executionMode} aria-describedby={describedBy} onChange={(e) => setField('executionMode', e.target.value as SelectableMode)}>
                <option value="auto">Auto</option>
                <option value="direct-ssh">Direct SSH</option>
                <option value="runner-ssh">Runner over SSH</option>
              </select>
            )}
          </Field>
          <Field label="Timeout" error={err('timeoutSeconds')}>
            {({ id, describedBy, invalid }) => (
              <div className="input-with-unit">
                <input id={id} type="text" inputMode="numeric" value={form.timeoutSeconds} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('timeoutSeconds', e.target.value)} />
                <span className="unit">seconds</span>
              </div>
            )}
          </Field>
          <Field label="Retries" error={err('retries')}>
            {({ id, describedBy, invalid }) => (
              <input id={id} type="text" inputMode="numeric" value={form.retries} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('retries', e.target.value)} />
            )}
          </Field>
          <Field label="Retry backoff" error={err('retryBackoffSeconds')} help="Doubles after every failed attempt.">
            {({ id, describedBy, invalid }) => (
              <div className="input-with-unit">
                <input id={id} type="text" inputMode="numeric" value={form.retryBackoffSeconds} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('retryBackoffSeconds', e.target.value)} />
                <span className="unit">seconds</span>
              </div>
            )}
          </Field>
        </div>
        {runnerWarning && (
          <p className="inline-warning" role="status" data-testid="runner-warning">
            No compatible runner yet on {runnerWarning}. Deploy one from the Runners pane, or choose Auto to fall back to direct SSH.
          </p>
        )}
      </fieldset>

      <OptionsEditor rows={form.options} errors={errors} onChange={(rows) => setField('options', rows)} />

      <ScheduleFields form={form} errors={errors} setField={setField} />
      {form.scheduleKind !== 'none' && (
        <fieldset className="editor-section" data-testid="fires-on">
          <legend>Where the schedule fires</legend>
          <Field
            label="Fires"
            error={err('firesOn')}
            help={
              form.firesOn === 'server'
                ? 'Each target server keeps this schedule in its resident runner and fires it even while this app is closed; the app collects the runs when it connects. No secrets: they never go to a server.'
                : 'This app fires the schedule; runs missed while it is closed follow the misfire policy.'
            }
          >
            {({ id, describedBy }) => (
              <select id={id} value={form.firesOn} aria-describedby={describedBy} onChange={(e) => setField('firesOn', e.target.value as EventForm['firesOn'])}>
                <option value="app">from this app</option>
                <option value="server">on the server</option>
              </select>
            )}
          </Field>
        </fieldset>
      )}

      <fieldset className="editor-section">
        <legend>State</legend>
        <label className="switch-row">
          <ToggleSwitch checked={form.enabled} onChange={(v) => setField('enabled', v)} label="Enabled" />
          <span>{form.enabled ? 'Enabled: the schedule fires and Run now works.' : 'Disabled: the schedule does not fire.'}</span>
        </label>
      </fieldset>

      <div className="form-actions">
        <Button onClick={onClose} disabled={saving}>
          Cancel
        </Button>
        <Button type="submit" variant="primary" busy={saving}>
          Save event
        </Button>
      </div>
    </form>
  );
}
