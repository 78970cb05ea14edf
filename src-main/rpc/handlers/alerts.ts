/** alerts/* handlers: alert rules (channel secrets go in, never come back) and the delivery history. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export type AlertsCallName = 'alerts/listRules' | 'alerts/saveRule' | 'alerts/deleteRule' | 'alerts/test' | 'alerts/history';

export function alertsHandlers(core: Core): HandlersFor<AlertsCallName> {
  return {
    'alerts/listRules': () => core.alerts.listRules(),
    'alerts/saveRule': (input) => core.alerts.saveRule(input),
    'alerts/deleteRule': async ({ id }) => {
      await core.alerts.deleteRule(id);
      return { ok: true as const };
    },
    'alerts/test': ({ id }) => core.alerts.test(id),
    'alerts/history': (input) => core.alerts.history({ ruleId: input?.ruleId, limit: input?.limit }),
  };
}
