/**
 * TrayController: the tray icon, its tooltip and its menu, redrawn from TrayModel on every job change.
 * It turns the model's menu description into an Electron menu and its actions into the callbacks it is given;
 * it must never decide what to show (that is tray-model.ts) nor act on jobs itself.
 */
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions } from 'electron';
import { TrayModel, buildTrayMenuTemplate, trayTooltip, type TrayAction, type TrayState } from './tray-model';

export interface TrayControllerOptions {
  /** resources/icons/tray.png (a tray@2x.png beside it is picked up for HiDPI). */
  iconPath: string;
  onAction(action: TrayAction): void;
}

export class TrayController {
  private readonly model = new TrayModel();
  private readonly tray: Tray;

  constructor(private readonly options: TrayControllerOptions) {
    this.tray = new Tray(nativeImage.createFromPath(options.iconPath));
    this.tray.on('click', () => options.onAction({ type: 'open-window' }));
    this.render(this.model.state());
  }

  /** Feed every contract event here (core.bus); the model ignores what it does not need. */
  handleEvent(name: string, payload: unknown): void {
    const before = JSON.stringify(this.model.state());
    const after = this.model.apply(name, payload);
    // Log lines arrive by the thousand; rebuild the native menu only when what it shows changed.
    if (JSON.stringify(after) !== before) this.render(after);
  }

  destroy(): void {
    if (!this.tray.isDestroyed()) this.tray.destroy();
  }

  private render(state: TrayState): void {
    if (this.tray.isDestroyed()) return;
    this.tray.setToolTip(trayTooltip(state));
    // The title shows next to the icon in the macOS menu bar only; elsewhere the tooltip carries the count.
    if (process.platform === 'darwin') this.tray.setTitle(state.runningCount > 0 ? String(state.runningCount) : '');
    const template: MenuItemConstructorOptions[] = buildTrayMenuTemplate(state).map((item) => {
      if (item.kind === 'separator') return { type: 'separator' };
      const action = item.action;
      return {
        label: item.label,
        enabled: item.enabled,
        ...(action ? { click: () => this.options.onAction(action) } : {}),
      };
    });
    this.tray.setContextMenu(Menu.buildFromTemplate(template));
  }
}
