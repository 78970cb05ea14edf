// The event editor's form model: what the user typed becomes the contract's EventInput, secrets are write-only
// (a stored one without a new value is kept, not resent), and form-level mistakes are reported at their field.
import { describe, expect, it } from 'vitest';
import { EventInput } from '../../../src-shared/contract/events';
import { emptyForm, formFromEvent, inputFromForm, type EventForm } from '../../../src-renderer/src/events/event-form';

const filled = (patch: Partial<EventForm> = {}): EventForm => ({ ...emptyForm(), name: 'backup', serverIds: ['s1'], ...patch });

describe('event form', () => {
  describe('when the user fills in a valid event', () => {
    it('builds an input the contract accepts', () => {
      const built = inputFromForm(
        filled({ env: [{ key: 'MODE', value: 'full' }], secrets: [{ name: 'TOKEN', isSet: false, value: 's3cret' }], scheduleKind: 'cron', cronExpression: ' 0 30 2 * * * ', maxRuns: '3' }),
        undefined,
      );
      if (!('input' in built)) throw new Error(JSON.stringify(built.errors));
      expect(EventInput.safeParse(built.input).success).toBe(true);
      expect(built.input.env).toEqual({ MODE: 'full' });
      expect(built.input.secrets).toEqual([{ name: 'TOKEN', value: 's3cret' }]);
      expect(built.input.schedule).toEqual({ kind: 'cron', expression: '0 30 2 * * *', maxRuns: 3 });
      expect(built.input.timeZone).toBeNull();
    });
  });

  describe('when editing an event with a stored secret', () => {
    it('keeps the secret by name only unless the user typed a replacement', () => {
      const kept = inputFromForm(filled({ secrets: [{ name: 'TOKEN', isSet: true, value: '' }] }), 'e1');
      const replaced = inputFromForm(filled({ secrets: [{ name: 'TOKEN', isSet: true, value: 'new' }] }), 'e1');
      expect('input' in kept && kept.input.secrets).toEqual([{ name: 'TOKEN' }]);
      expect('input' in replaced && replaced.input.secrets).toEqual([{ name: 'TOKEN', value: 'new' }]);
      expect('input' in kept && kept.input.id).toBe('e1');
    });
  });

  describe('when the user makes mistakes the form can see', () => {
    it('reports them at their fields instead of sending', () => {
      const built = inputFromForm(
        filled({ timeoutSeconds: 'ten', env: [{ key: 'A', value: '1' }, { key: 'A', value: '2' }], secrets: [{ name: 'NEW', isSet: false, value: '' }], scheduleKind: 'interval', everySeconds: '0' }),
        undefined,
      );
      expect('errors' in built && built.errors).toMatchObject({
        timeoutSeconds: expect.any(String),
        'env.1': 'A is defined twice',
        'secrets.0': 'enter a value for NEW',
        'schedule.everySeconds': expect.any(String),
      });
    });
  });

  it('round-trips an event view into the form', () => {
    const form = formFromEvent({
      id: 'e1', name: 'n', description: '', scriptType: 'python', content: 'print(1)', env: { A: '1' }, secrets: [{ name: 'S', isSet: true }],
      timeoutSeconds: 60, retries: 2, retryBackoffSeconds: 3, executionMode: 'direct-ssh', runnerRequirements: null, servers: [{ id: 's1', name: 'db' }],
      schedule: { kind: 'interval', everySeconds: 90 }, timeZone: 'Europe/Berlin', misfirePolicy: 'skip', overlapPolicy: 'queue', enabled: false, version: 4,
      nextRunAt: null, lastRun: null, createdAt: '', updatedAt: '', targetTags: [], maxParallel: null, options: [], scheduleParameters: {}, firesOn: 'app',
    });
    expect(form).toMatchObject({ scriptType: 'python', env: [{ key: 'A', value: '1' }], secrets: [{ name: 'S', isSet: true, value: '' }], scheduleKind: 'interval', everySeconds: '90', timeZone: 'Europe/Berlin', enabled: false });
  });
});

describe('event form, all problems at once', () => {
  it("reports the form's own errors and the contract's together, each at its field", async () => {
    const { allFormErrors } = await import('../../../src-renderer/src/events/event-form');
    const errors = allFormErrors({ ...emptyForm(), name: '', content: '   ', serverIds: ['s1'], timeoutSeconds: 'ten', retries: '11' }, undefined);
    expect(errors).toMatchObject({
      name: 'give the event a name',
      content: 'the script is empty',
      retries: 'at most 10 retries',
      timeoutSeconds: 'enter a whole number of seconds',
    });
  });

  it('finds nothing in a valid form', async () => {
    const { allFormErrors } = await import('../../../src-renderer/src/events/event-form');
    expect(allFormErrors(filled(), undefined)).toEqual({});
  });
});
