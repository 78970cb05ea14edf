/**
 * NotificationController: shows the core's notification alerts ('notifications/alert', from the one notification
 * service in src-main/core/notifications) as native notifications; a click opens the entry's log, or brings the
 * window forward for anything else (a grouped alert, a server, a schedule). It decides nothing: what to say, whether
 * to say it (preferences, quiet hours) and how to group a burst were all decided in the core, the same for serve mode.
 */
import { Notification, type NativeImage } from 'electron';
import { NotificationAlert, type NotificationTarget } from '../../src-shared/contract/notifications';

export const NOTIFICATION_ALERT_EVENT = 'notifications/alert';

/** Native notification bodies stay short: a grouped alert lists a few entries, then "and N more". */
const MAX_BODY_CHARS = 600;

/** Pure: the alert of a 'notifications/alert' event, or null for any other event or a payload that does not match. */
export function readAlert(name: string, payload: unknown): NotificationAlert | null {
  if (name !== NOTIFICATION_ALERT_EVENT) return null;
  const parsed = NotificationAlert.safeParse(payload);
  return parsed.success ? parsed.data : null;
}

/** Pure: the title and body a native notification shows for an alert. */
export function nativeContent(alert: NotificationAlert): { title: string; body: string } {
  const body = alert.body.length > MAX_BODY_CHARS ? `${alert.body.slice(0, MAX_BODY_CHARS - 1)}…` : alert.body;
  return { title: alert.title, body };
}

export interface NotificationControllerOptions {
  /** Brings the window forward and shows the log. */
  onOpenLog(logId: string): void;
  /** Brings the window forward (a grouped alert, or one about a server, an event or a workflow). */
  onOpenWindow(target: NotificationTarget | null): void;
  /** A NativeImage rather than a path: Linux notification daemons cannot read a file inside app.asar. */
  icon?: NativeImage;
}

export class NotificationController {
  /** Shown notifications are kept referenced until closed: a collected one loses its click handler. */
  private readonly live = new Set<Notification>();

  constructor(private readonly options: NotificationControllerOptions) {}

  /** Feed every contract event here (core.bus); only 'notifications/alert' shows anything. */
  handleEvent(name: string, payload: unknown): void {
    const alert = readAlert(name, payload);
    if (alert) this.show(alert);
  }

  private show(alert: NotificationAlert): void {
    if (!Notification.isSupported()) return;
    const { title, body } = nativeContent(alert);
    const n = new Notification({ title, body, ...(this.options.icon ? { icon: this.options.icon } : {}) });
    this.live.add(n);
    const forget = () => this.live.delete(n);
    n.on('click', () => {
      forget();
      if (alert.target?.kind === 'log') this.options.onOpenLog(alert.target.id);
      else this.options.onOpenWindow(alert.target);
    });
    n.on('close', forget);
    n.show();
  }
}
