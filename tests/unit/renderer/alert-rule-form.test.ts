// The alert rule editor's own check: every mistake of a form is found in one pass, keyed like the main process's
// field errors (so each shows at its field), and a stored webhook URL is kept on an edit that leaves it empty.
import { describe, expect, it } from 'vitest';
import { initialState, validateAlertRule } from '../../../src-renderer/src/alerts/AlertRuleForm';
import type { AlertRuleView } from '../../../src-shared/contract/alerts';

describe('validateAlertRule', () => {
  it('reports every problem of a new rule at once', () => {
    const form = { ...initialState(null), triggers: [], maxPerWindow: '0', windowSeconds: 'x' };
    expect(Object.keys(validateAlertRule(form, null)).sort()).toEqual(['channel.secret', 'maxPerWindow', 'name', 'triggers', 'windowSeconds']);
  });

  it('checks mail fields and runner triggers together', () => {
    const form = { ...initialState(null), name: 'm', subjectKind: 'runner' as const, triggers: ['missed' as const], channelKind: 'email' as const, host: '', from: 'nope', to: '' };
    expect(Object.keys(validateAlertRule(form, null)).sort()).toEqual(['channel.config.from', 'channel.config.host', 'channel.config.to', 'triggers']);
  });

  it('keeps a stored webhook URL when the field is left empty on an edit', () => {
    const rule = {
      id: 'r1', name: 'chat', subjectKind: 'event', subjectId: null, subjectName: null, triggers: ['failure'], channelKind: 'webhook',
      channelConfig: { format: 'slack', display: 'https://hooks.example.test/…' }, hasSecret: true, target: 'https://hooks.example.test/…',
      maxPerWindow: 5, windowSeconds: 3600, dedupSeconds: 900, enabled: true, createdAt: 'x', updatedAt: 'x',
    } satisfies AlertRuleView;
    expect(validateAlertRule(initialState(rule), rule)).toEqual({});
    expect(validateAlertRule({ ...initialState(rule), channelKind: 'email' }, rule)).toHaveProperty(['channel.config.host']);
  });
});
