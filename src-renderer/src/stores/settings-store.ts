/**
 * Settings store: the Settings pane's form over settings/get and settings/update. It keeps what the user typed until a
 * save succeeds, puts AppError.fields at their fields, and sends only changed fields that the environment does not pin.
 * It never drops the user's input on a failed save or on a 'settings/changed' push.
 */
import { create } from 'zustand';
import type { SettingsPatch, SettingsView } from '../../../src-shared/contract/settings';
import { errorMessage, invoke, onEvent, RpcError } from '../rpc/client';
import { toast } from './toast-store';
import { SETTINGS_FIELDS, fromFormValue, readPath, toFormValue, writePath, type FormValue } from './settings-fields';

export type SettingsForm = Record<string, FormValue>;

interface SettingsStore {
  view: SettingsView | null;
  form: SettingsForm;
  fieldErrors: Record<string, string>;
  /** A failure that is not about one field (shown above the form). */
  formError: string | null;
  loadError: string | null;
  loading: boolean;
  saving: boolean;
  load: () => Promise<void>;
  setField: (path: string, value: FormValue) => void;
  /** Resolves true when saved. */
  save: () => Promise<boolean>;
  reset: () => void;
}

function formFromView(view: SettingsView): SettingsForm {
  const form: SettingsForm = {};
  for (const field of SETTINGS_FIELDS) form[field.path] = toFormValue(field, readPath(view.settings, field.path));
  return form;
}

/** Fields whose form value differs from the saved one. */
export function changedFields(view: SettingsView, form: SettingsForm): string[] {
  const saved = formFromView(view);
  return SETTINGS_FIELDS.filter((f) => !(f.path in view.overrides) && form[f.path] !== saved[f.path]).map((f) => f.path);
}

/** Builds the patch for the changed fields, or the per-field errors of input that is not even the right type. */
export function buildPatch(view: SettingsView, form: SettingsForm): { patch: SettingsPatch } | { errors: Record<string, string> } {
  const patch: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const path of changedFields(view, form)) {
    const field = SETTINGS_FIELDS.find((f) => f.path === path)!;
    const converted = fromFormValue(field, form[path]);
    if ('error' in converted) errors[path] = converted.error;
    else writePath(patch, path, converted.value);
  }
  return Object.keys(errors).length > 0 ? { errors } : { patch: patch as SettingsPatch };
}

let stopListening: (() => void) | undefined;

export const useSettingsStore = create<SettingsStore>((set, get) => ({
  view: null,
  form: {},
  fieldErrors: {},
  formError: null,
  loadError: null,
  loading: false,
  saving: false,

  load: async () => {
    stopListening ??= onEvent('settings/changed', (view) => {
      const { view: old, form } = get();
      // Keep the user's edits: only fields they have not touched follow the pushed values.
      const dirty = old ? new Set(changedFields(old, form)) : new Set<string>();
      const fresh = formFromView(view);
      for (const path of dirty) fresh[path] = form[path];
      set({ view, form: fresh });
    });
    set({ loading: true });
    try {
      const view = await invoke('settings/get');
      const { view: old, form } = get();
      const dirty = old ? changedFields(old, form) : [];
      const fresh = formFromView(view);
      for (const path of dirty) fresh[path] = form[path];
      set({ view, form: fresh, loading: false, loadError: null });
    } catch (err) {
      set({ loading: false, loadError: errorMessage(err) });
    }
  },

  setField: (path, value) =>
    set((s) => {
      const fieldErrors = { ...s.fieldErrors };
      delete fieldErrors[path];
      return { form: { ...s.form, [path]: value }, fieldErrors };
    }),

  save: async () => {
    const { view, form } = get();
    if (!view) return false;
    const built = buildPatch(view, form);
    if ('errors' in built) {
      set({ fieldErrors: built.errors, formError: 'Settings not saved: fix the fields marked below.' });
      return false;
    }
    if (Object.keys(built.patch).length === 0) {
      toast.info('Nothing to save: no setting was changed.');
      return true;
    }
    set({ saving: true, formError: null });
    try {
      const saved = await invoke('settings/update', built.patch);
      set({ view: saved, form: formFromView(saved), fieldErrors: {}, formError: null, saving: false });
      toast.success('Settings saved.');
      return true;
    } catch (err) {
      const fields = err instanceof RpcError && err.fields ? err.fields : {};
      const known = Object.fromEntries(Object.entries(fields).filter(([k]) => SETTINGS_FIELDS.some((f) => f.path === k)));
      const fieldCount = Object.keys(known).length;
      const formError =
        fieldCount > 0 && fieldCount === Object.keys(fields).length
          ? `Settings not saved: ${fieldCount === 1 ? 'one field needs' : `${fieldCount} fields need`} attention below.`
          : errorMessage(err);
      set({ saving: false, fieldErrors: known, formError });
      return false;
    }
  },

  reset: () => {
    const { view } = get();
    if (view) set({ form: formFromView(view), fieldErrors: {}, formError: null });
  },
}));
