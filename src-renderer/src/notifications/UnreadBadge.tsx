/** UnreadBadge: the notification centre's unread count on its sidebar entry (read by screen readers as "N unread"). */
import { useNotificationsStore } from '../stores/notifications-store';
import './notifications.css';

export function UnreadBadge() {
  const unread = useNotificationsStore((s) => s.unread);
  if (unread === 0) return null;
  return (
    <span className="nav-badge" data-testid="unread-badge">
      {unread > 99 ? '99+' : unread}
      <span className="sr-only"> unread</span>
    </span>
  );
}
