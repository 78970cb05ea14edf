/**
 * Settings pane: the form over RunnerSettings, streaming, listener, notifications and the four feature flags, each
 * flag beside the runner setting that gates the same feature, with what they add up to in words.
 * Fields pinned by an environment variable are read-only and say which variable; field errors stay at their field and
 * the user's input is kept. Reads the settings store only.
 */
import { useEffect, type FormEvent } from 'react';
import { Button } from '../components/Button';
import { Field } from '../components/Field';
import { PaneHeader } from '../components/PaneHeader';
import { ToggleSwitch } from '../components/ToggleSwitch';
import { SETTINGS_SECTIONS, type SettingsField } from '../stores/settings-fields';
import { AppUpdatesCard } from '../rollout/AppUpdatesCard';
import { changedFields, useSettingsStore } from '../stores/settings-store';

function SettingInput({ field }: { field: SettingsField }) {
  const value = useSettingsStore((s) => s.form[field.path]);
  const error = useSettingsStore((s) => s.fieldErrors[field.path]);
  const pinnedBy = useSettingsStore((s) => s.view?.overrides[field.path]);
  const setField = useSettingsStore((s) => s.setField);
  return (
    <Field label={field.label} error={error} help={field.help} pinnedBy={pinnedBy}>
      {({ id, describedBy, invalid, readOnly }) => {
        if (field.kind === 'toggle') {
          return <ToggleSwitch id={id} checked={value === true} disabled={readOnly} describedBy={describedBy} onChange={(v) => setField(field.path, v)} />;
        }
        if (field.kind === 'select') {
          return (
            <select
              id={id}
              value={String(value ?? '')}
              disabled={readOnly}
              aria-invalid={invalid || undefined}
              aria-describedby={describedBy}
              onChange={(e) => setField(field.path, e.target.value)}
            >
              {field.options?.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          );
        }
        return (
          <div className="input-with-unit">
            <input
              id={id}
              type="text"
              inputMode={field.kind === 'text' ? undefined : 'numeric'}
              value={String(value ?? '')}
              readOnly={readOnly}
              aria-invalid={invalid || undefined}
              aria-describedby={describedBy}
              onChange={(e) => setField(field.path, e.target.value)}
            />
            {field.unit && <span className="unit">{field.unit}</span>}
          </div>
        );
      }}
    </Field>
  );
}

/** What the flags and their shadowing settings add up to, in words, from the values in the form (saved or not). */
function EffectiveRunnerFeatures() {
  const form = useSettingsStore((s) => s.form);
  const on = (path: string) => form[path] === true;
  const runner = on('flags.ssh_runner_enabled') && on('runner.enabled');
  const fallback = on('flags.ssh_runner_fallback') && on('runner.fallbackToDirect');
  const autoDeploy = runner && on('flags.ssh_runner_auto_deploy');
  const streaming = runner && on('flags.ssh_runner_streaming_logs');
  const word = (b: boolean) => (b ? 'on' : 'off');
  return (
    <p className="settings-effective" role="status" data-testid="effective-runner-features">
      In effect: runner mode <strong>{word(runner)}</strong>
      {!runner && (on('flags.ssh_runner_enabled') || on('runner.enabled')) ? ' (one of its two switches is off)' : ''}, fallback to direct SSH{' '}
      <strong>{word(fallback)}</strong>, automatic deployment <strong>{word(autoDeploy)}</strong>, streaming logs <strong>{word(streaming)}</strong>.
    </p>
  );
}

export function SettingsPane() {
  const load = useSettingsStore((s) => s.load);
  const save = useSettingsStore((s) => s.save);
  const reset = useSettingsStore((s) => s.reset);
  const loaded = useSettingsStore((s) => s.view !== null);
  const loadError = useSettingsStore((s) => s.loadError);
  const formError = useSettingsStore((s) => s.formError);
  const saving = useSettingsStore((s) => s.saving);
  const dirtyCount = useSettingsStore((s) => (s.view ? changedFields(s.view, s.form).length : 0));

  useEffect(() => {
    void load();
  }, [load]);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void save();
  };

  return (
    <div className="pane">
      <PaneHeader title="Settings" subtitle="Runner behaviour, log streaming, the local listener, notifications and feature flags." />
      {loadError && (
        <p className="form-error" role="alert">
          Could not load settings: {loadError}
        </p>
      )}
      {loaded && (
        <form className="settings-form" onSubmit={onSubmit} aria-label="Settings" noValidate>
          {formError && (
            <p className="form-error" role="alert">
              {formError}
            </p>
          )}
          {SETTINGS_SECTIONS.map((section) => (
            <fieldset key={section.id} className="settings-section">
              <legend>{section.title}</legend>
              <p className="section-description">{section.description}</p>
              {section.id === 'flags' && <EffectiveRunnerFeatures />}
              <div className={section.fields.every((f) => f.kind === 'toggle') ? 'field-list' : 'field-grid'}>
                {section.fields.map((field) => (
                  <SettingInput key={field.path} field={field} />
                ))}
              </div>
            </fieldset>
          ))}
          <div className="form-actions">
            <span className="muted" aria-live="polite">
              {dirtyCount === 0 ? 'No unsaved changes' : `${dirtyCount} unsaved change${dirtyCount === 1 ? '' : 's'}`}
            </span>
            <Button onClick={reset} disabled={dirtyCount === 0 || saving}>
              Discard changes
            </Button>
            <Button type="submit" variant="primary" busy={saving}>
              Save settings
            </Button>
          </div>
        </form>
      )}
      {loaded && <AppUpdatesCard />}
    </div>
  );
}
