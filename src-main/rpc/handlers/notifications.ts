/** notifications/* handlers: the notification centre's history and its read marks, through NotificationService. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export function notificationsHandlers(core: Core): HandlersFor<'notifications/list' | 'notifications/markRead'> {
  return {
    'notifications/list': (input) => core.notifications.list({ limit: input?.limit ?? 200, unreadOnly: input?.unreadOnly ?? false, kind: input?.kind }),
    'notifications/markRead': ({ ids }) => core.notifications.markRead(ids),
  };
}
