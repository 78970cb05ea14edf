/**
 * ScheduleFields: the event editor's schedule section (none / cron with seconds / interval, time zone, start, end,
 * max runs, misfire and overlap policy) with the schedule in words and its next runs from 'schedule/preview'; an
 * invalid expression or zone shows the main process's reason at the field.
 */
import { useEffect, useMemo, useState } from 'react';
import type { SchedulePreview } from '../../../src-shared/contract/schedule';
import { Field } from '../components/Field';
import { fieldError } from '../components/field-errors';
import { previewSchedule } from '../stores/events-store';
import { scheduleFromForm, timeZones, type EventForm } from './event-form';

interface Props {
  form: EventForm;
  errors: Record<string, string>;
  setField: <K extends keyof EventForm>(key: K, value: EventForm[K]) => void;
}

function usePreview(form: EventForm) {
  const [state, setState] = useState<{ preview: SchedulePreview | null; error: string | null; busy: boolean }>({ preview: null, error: null, busy: false });
  const { schedule, errors } = scheduleFromForm(form);
  const key = JSON.stringify([schedule, form.timeZone, Object.keys(errors).length]);
  useEffect(() => {
    if (!schedule || Object.keys(errors).length > 0) {
      setState({ preview: null, error: null, busy: false });
      return;
    }
    let live = true;
    setState((s) => ({ ...s, busy: true }));
    const timer = setTimeout(() => {
      void previewSchedule(schedule, form.timeZone || undefined).then((r) => {
        if (!live) return;
        setState(r.ok ? { preview: r.preview, error: null, busy: false } : { preview: null, error: r.message, busy: false });
      });
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key]); // the key captures everything the preview depends on
  return state;
}

export function ScheduleFields({ form, errors, setField }: Props) {
  const zones = useMemo(() => timeZones(), []);
  const preview = usePreview(form);
  const err = (name: string) => fieldError(errors, name);
  const kind = form.scheduleKind;

  return (
    <fieldset className="editor-section" aria-label="Schedule">
      <legend>Schedule</legend>
      <div className="segmented" role="radiogroup" aria-label="Schedule kind">
        {(['none', 'cron', 'interval'] as const).map((k) => (
          <label key={k} className={`segment${kind === k ? ' segment-active' : ''}`}>
            <input type="radio" name="scheduleKind" checked={kind === k} onChange={() => setField('scheduleKind', k)} />
            {k === 'none' ? 'Manual only' : k === 'cron' ? 'Cron' : 'Interval'}
          </label>
        ))}
      </div>
      {kind !== 'none' && (
        <>
          <div className="form-grid">
            {kind === 'cron' ? (
              <Field
                label="Cron expression"
                error={err('schedule.expression') ?? preview.error ?? undefined}
                help="5 fields (minute hour day month weekday) or 6 with leading seconds, e.g. 0 30 2 * * *"
              >
                {({ id, describedBy, invalid }) => (
                  <input id={id} type="text" className="mono" value={form.cronExpression} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('cronExpression', e.target.value)} spellCheck={false} />
                )}
              </Field>
            ) : (
              <Field label="Every" error={err('schedule.everySeconds') ?? preview.error ?? undefined} help="Seconds between runs, counted from the start time.">
                {({ id, describedBy, invalid }) => (
                  <div className="input-with-unit">
                    <input id={id} type="text" inputMode="numeric" value={form.everySeconds} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('everySeconds', e.target.value)} />
                    <span className="unit">seconds</span>
                  </div>
                )}
              </Field>
            )}
            <Field label="Time zone" error={err('timeZone')}>
              {({ id, describedBy, invalid }) => (
                <select id={id} value={form.timeZone} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('timeZone', e.target.value)}>
                  <option value="">Workstation ({zones.workstation})</option>
                  {zones.all.map((z) => (
                    <option key={z} value={z}>
                      {z}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Start (your local time)" error={err('schedule.startAt')}>
              {({ id, describedBy, invalid }) => (
                <input id={id} type="datetime-local" value={form.startAt} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('startAt', e.target.value)} />
              )}
            </Field>
            <Field label="End (your local time)" error={err('schedule.endAt')}>
              {({ id, describedBy, invalid }) => (
                <input id={id} type="datetime-local" value={form.endAt} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('endAt', e.target.value)} />
              )}
            </Field>
            <Field label="Max runs" error={err('schedule.maxRuns')} help="Empty for no limit.">
              {({ id, describedBy, invalid }) => (
                <input id={id} type="text" inputMode="numeric" value={form.maxRuns} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('maxRuns', e.target.value)} />
              )}
            </Field>
            <Field label="Missed runs (misfire)" error={err('misfirePolicy')} help="What happens to runs missed while the app was closed.">
              {({ id, describedBy }) => (
                <select id={id} value={form.misfirePolicy} aria-describedby={describedBy} onChange={(e) => setField('misfirePolicy', e.target.value as EventForm['misfirePolicy'])}>
                  <option value="run_once">Run once to catch up</option>
                  <option value="run_each">Run each missed time</option>
                  <option value="skip">Skip missed runs</option>
                </select>
              )}
            </Field>
            <Field label="When still running (overlap)" error={err('overlapPolicy')}>
              {({ id, describedBy }) => (
                <select id={id} value={form.overlapPolicy} aria-describedby={describedBy} onChange={(e) => setField('overlapPolicy', e.target.value as EventForm['overlapPolicy'])}>
                  <option value="skip">Skip the new run</option>
                  <option value="queue">Queue it after the current run</option>
                  <option value="allow">Run both at once</option>
                </select>
              )}
            </Field>
          </div>
          <div className="schedule-preview" aria-live="polite" data-testid="schedule-preview">
            {preview.busy && !preview.preview && <span className="muted">Checking schedule…</span>}
            {preview.preview && (
              <>
                <p className="schedule-words">{preview.preview.description}</p>
                {preview.preview.notice && <p className="muted">{preview.preview.notice}</p>}
                {preview.preview.nextRuns.length > 0 && (
                  <>
                    <p className="muted schedule-next-title">Next runs ({preview.preview.timeZone})</p>
                    <ol className="schedule-next">
                      {preview.preview.nextRuns.map((r) => (
                        <li key={r.at}>{r.wallClock}</li>
                      ))}
                    </ol>
                  </>
                )}
              </>
            )}
          </div>
        </>
      )}
    </fieldset>
  );
}
