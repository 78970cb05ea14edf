/**
 * Workflows store: the Workflows pane's list, the graph being edited (a draft of steps and typed connections), the
 * save / run / cancel / delete actions, the run history and the run shown on the graph, kept live by
 * 'workflows/changed' and 'workflows/runChanged'. Field errors from a refused save (nodes.<id>, edges.<id>, graph)
 * go back onto the graph. Components read it through selectors and never call the transport.
 */
import { create } from 'zustand';
import type { EventView } from '../../../src-shared/contract/events';
import type { ServerView } from '../../../src-shared/contract/servers';
import type {
  WorkflowEdgeKind,
  WorkflowInput,
  WorkflowRunSummary,
  WorkflowRunView,
  WorkflowView,
} from '../../../src-shared/contract/workflows';
import { emptyForm, scheduleFormFields, scheduleFromForm, wholeNumber, type EventForm } from '../events/event-form';
import { errorMessage, invoke, onEvent, RpcError } from '../rpc/client';
import { toast } from './toast-store';

export type StepMode = 'auto' | 'direct-ssh' | 'runner-ssh';

export interface DraftStep {
  id: string;
  eventId: string;
  /** '' = the event's first server. */
  serverId: string;
  label: string;
  /** '' = the event's own mode. */
  executionMode: '' | StepMode;
  minVersion: string;
  /** Comma-separated. */
  capabilities: string;
  /** '' = the event's timeout. */
  timeoutSeconds: string;
  position: { x: number; y: number };
}

export interface DraftEdge {
  id: string;
  source: string;
  target: string;
  kind: WorkflowEdgeKind;
  condition: string;
}

export interface Draft {
  id?: string;
  name: string;
  description: string;
  timeoutSeconds: string;
  enabled: boolean;
  steps: DraftStep[];
  edges: DraftEdge[];
  /** The event editor's schedule fields (only the schedule ones are used). */
  schedule: EventForm;
}

export type Selected = { kind: 'step'; id: string } | { kind: 'edge'; id: string } | null;

interface WorkflowsStore {
  workflows: WorkflowView[];
  events: EventView[];
  servers: ServerView[];
  loaded: boolean;
  selectedId: string | null;
  draft: Draft | null;
  dirty: boolean;
  selected: Selected;
  newEdgeKind: WorkflowEdgeKind;
  fieldErrors: Record<string, string>;
  formError: string | null;
  saving: boolean;
  runs: WorkflowRunSummary[];
  run: WorkflowRunView | null;
  load: () => Promise<void>;
  open: (id: string) => Promise<void>;
  create: () => void;
  closeEditor: () => void;
  setDraft: (patch: Partial<Omit<Draft, 'steps' | 'edges' | 'schedule'>>) => void;
  setScheduleField: <K extends keyof EventForm>(key: K, value: EventForm[K]) => void;
  addStep: () => void;
  updateStep: (id: string, patch: Partial<DraftStep>) => void;
  moveStep: (id: string, position: { x: number; y: number }) => void;
  removeStep: (id: string) => void;
  connect: (source: string, target: string, kind?: WorkflowEdgeKind) => void;
  updateEdge: (id: string, patch: Partial<DraftEdge>) => void;
  removeEdge: (id: string) => void;
  select: (selected: Selected) => void;
  setNewEdgeKind: (kind: WorkflowEdgeKind) => void;
  save: () => Promise<WorkflowView | null>;
  runNow: () => Promise<void>;
  cancelRun: () => Promise<void>;
  /** Starts a new run of the shown (ended) run from this step; earlier steps are reused as recorded. */
  resumeRunFrom: (nodeId: string) => Promise<void>;
  showRun: (runId: string) => Promise<void>;
  remove: () => Promise<void>;
}

let stopListening: (() => void) | undefined;

const newId = () => (globalThis.crypto?.randomUUID ? globalThis.crypto.randomUUID() : `id-${Date.now()}-${Math.random().toString(36).slice(2)}`);

export function draftFromView(view: WorkflowView): Draft {
  return {
    id: view.id,
    name: view.name,
    description: view.description,
    timeoutSeconds: view.timeoutSeconds === null ? '' : String(view.timeoutSeconds),
    enabled: view.enabled,
    steps: view.nodes.map((n) => ({
      id: n.id,
      eventId: n.eventId,
      serverId: n.serverId ?? '',
      label: n.label ?? '',
      executionMode: n.executionMode ?? '',
      minVersion: n.runnerRequirements?.minVersion ?? '',
      capabilities: (n.runnerRequirements?.capabilities ?? []).join(', '),
      timeoutSeconds: n.timeoutSeconds === null ? '' : String(n.timeoutSeconds),
      position: n.position,
    })),
    edges: view.edges.map((e) => ({ ...e, condition: e.condition ?? '' })),
    schedule: { ...emptyForm(), ...scheduleFormFields(view, '0 0 * * * *') },
  };
}

function emptyDraft(): Draft {
  return { name: '', description: '', timeoutSeconds: '', enabled: true, steps: [], edges: [], schedule: { ...emptyForm(), scheduleKind: 'none' } };
}

/** The input to save, or field errors found before sending anything. */
export function inputFromDraft(draft: Draft): { input: WorkflowInput } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (!draft.name.trim()) errors.name = 'give the workflow a name';
  let timeoutSeconds: number | null = null;
  if (draft.timeoutSeconds.trim()) {
    timeoutSeconds = wholeNumber(draft.timeoutSeconds);
    if (timeoutSeconds === null || timeoutSeconds < 1) errors.timeoutSeconds = 'a whole number of seconds, at least 1, or empty for none';
  }
  const { schedule, errors: scheduleErrors } = scheduleFromForm(draft.schedule);
  Object.assign(errors, scheduleErrors);
  const nodes = draft.steps.map((s) => {
    let timeout: number | null = null;
    if (s.timeoutSeconds.trim()) {
      timeout = wholeNumber(s.timeoutSeconds);
      if (timeout === null || timeout < 1) errors[`nodes.${s.id}`] = 'the step timeout must be a whole number of seconds';
    }
    if (!s.eventId) errors[`nodes.${s.id}`] = 'choose an event for this step';
    const capabilities = s.capabilities.split(',').map((c) => c.trim()).filter(Boolean);
    const requirements = s.minVersion.trim() || capabilities.length ? { ...(s.minVersion.trim() ? { minVersion: s.minVersion.trim() } : {}), ...(capabilities.length ? { capabilities } : {}) } : null;
    return {
      id: s.id, eventId: s.eventId, serverId: s.serverId || null, label: s.label.trim() || null, executionMode: s.executionMode || null,
      runnerRequirements: requirements, timeoutSeconds: timeout, position: s.position,
    };
  });
  if (Object.keys(errors).length > 0) return { errors };
  return {
    input: {
      ...(draft.id ? { id: draft.id } : {}),
      name: draft.name.trim(),
      description: draft.description,
      nodes,
      edges: draft.edges.map((e) => ({ id: e.id, source: e.source, target: e.target, kind: e.kind, condition: e.kind === 'ON_CONDITION' && e.condition.trim() ? e.condition.trim() : null })),
      timeoutSeconds,
      schedule,
      timeZone: draft.schedule.timeZone || null,
      misfirePolicy: draft.schedule.misfirePolicy,
      overlapPolicy: draft.schedule.overlapPolicy,
      enabled: draft.enabled,
    },
  };
}

function upsert(list: WorkflowView[], view: WorkflowView): WorkflowView[] {
  const i = list.findIndex((w) => w.id === view.id);
  const next = i === -1 ? [...list, view] : list.map((w) => (w.id === view.id ? view : w));
  return next.sort((a, b) => a.name.localeCompare(b.name));
}

export const useWorkflowsStore = create<WorkflowsStore>((set, get) => {
  const edit = (fn: (d: Draft) => Draft) => {
    const d = get().draft;
    if (d) set({ draft: fn(d), dirty: true });
  };
  return {
    workflows: [],
    events: [],
    servers: [],
    loaded: false,
    selectedId: null,
    draft: null,
    dirty: false,
    selected: null,
    newEdgeKind: 'ON_SUCCESS',
    fieldErrors: {},
    formError: null,
    saving: false,
    runs: [],
    run: null,

    load: async () => {
      stopListening ??= (() => {
        const a = onEvent('workflows/changed', ({ workflow, deletedId }) => {
          set((s) => ({ workflows: workflow ? upsert(s.workflows, workflow) : s.workflows.filter((w) => w.id !== deletedId) }));
        });
        const b = onEvent('workflows/runChanged', ({ run }) => {
          const s = get();
          if (run.workflowId !== s.selectedId) return;
          const { steps: _steps, ...summary } = run;
          const runs = s.runs.some((r) => r.id === run.id) ? s.runs.map((r) => (r.id === run.id ? summary : r)) : [summary, ...s.runs];
          set({ runs, run: s.run === null || s.run.id === run.id || run.startedAt > s.run.startedAt ? run : s.run });
        });
        return () => {
          a();
          b();
        };
      })();
      try {
        const [workflows, events, servers] = await Promise.all([invoke('workflows/list'), invoke('events/list'), invoke('servers/list')]);
        set({ workflows, events, servers, loaded: true });
      } catch (err) {
        set({ loaded: true });
        toast.error(err);
      }
    },

    open: async (id) => {
      const view = get().workflows.find((w) => w.id === id) ?? (await invoke('workflows/get', { id }));
      set({ selectedId: id, draft: draftFromView(view), dirty: false, selected: null, fieldErrors: {}, formError: null, run: null, runs: [] });
      try {
        const runs = await invoke('workflows/runs', { id, limit: 50 });
        if (get().selectedId !== id) return;
        set({ runs });
        if (runs[0]) await get().showRun(runs[0].id);
      } catch (err) {
        toast.error(err);
      }
    },

    create: () => set({ selectedId: null, draft: emptyDraft(), dirty: true, selected: null, fieldErrors: {}, formError: null, runs: [], run: null }),
    closeEditor: () => set({ selectedId: null, draft: null, dirty: false, selected: null, fieldErrors: {}, formError: null, runs: [], run: null }),
    setDraft: (patch) => edit((d) => ({ ...d, ...patch })),
    setScheduleField: (key, value) => edit((d) => ({ ...d, schedule: { ...d.schedule, [key]: value } })),

    addStep: () => {
      const { events, draft } = get();
      if (!draft) return;
      const id = newId();
      const last = draft.steps[draft.steps.length - 1];
      const position = last ? { x: last.position.x, y: last.position.y + 130 } : { x: 80, y: 40 };
      const step: DraftStep = { id, eventId: events[0]?.id ?? '', serverId: '', label: '', executionMode: '', minVersion: '', capabilities: '', timeoutSeconds: '', position };
      edit((d) => ({ ...d, steps: [...d.steps, step] }));
      set({ selected: { kind: 'step', id } });
    },
    updateStep: (id, patch) => edit((d) => ({ ...d, steps: d.steps.map((s) => (s.id === id ? { ...s, ...patch } : s)) })),
    moveStep: (id, position) => edit((d) => ({ ...d, steps: d.steps.map((s) => (s.id === id ? { ...s, position } : s)) })),
    removeStep: (id) => {
      edit((d) => ({ ...d, steps: d.steps.filter((s) => s.id !== id), edges: d.edges.filter((e) => e.source !== id && e.target !== id) }));
      set({ selected: null });
    },
    connect: (source, target, kind) => {
      const k = kind ?? get().newEdgeKind;
      const draft = get().draft;
      if (!draft || source === target || draft.edges.some((e) => e.source === source && e.target === target && e.kind === k)) return;
      const id = newId();
      edit((d) => ({ ...d, edges: [...d.edges, { id, source, target, kind: k, condition: '' }] }));
      set({ selected: { kind: 'edge', id } });
    },
    updateEdge: (id, patch) => edit((d) => ({ ...d, edges: d.edges.map((e) => (e.id === id ? { ...e, ...patch } : e)) })),
    removeEdge: (id) => {
      edit((d) => ({ ...d, edges: d.edges.filter((e) => e.id !== id) }));
      set({ selected: null });
    },
    select: (selected) => set({ selected }),
    setNewEdgeKind: (newEdgeKind) => set({ newEdgeKind }),

    save: async () => {
      const draft = get().draft;
      if (!draft) return null;
      const built = inputFromDraft(draft);
      if ('errors' in built) {
        set({ fieldErrors: built.errors, formError: 'Fix the marked fields and steps, then save again.' });
        return null;
      }
      set({ saving: true });
      try {
        const view = await invoke('workflows/save', built.input);
        set((s) => ({ workflows: upsert(s.workflows, view), selectedId: view.id, draft: draftFromView(view), dirty: false, fieldErrors: {}, formError: null }));
        toast.success(`Saved ${view.name} (version ${view.version}).`);
        return view;
      } catch (err) {
        set({ fieldErrors: err instanceof RpcError ? (err.fields ?? {}) : {}, formError: errorMessage(err) });
        return null;
      } finally {
        set({ saving: false });
      }
    },

    runNow: async () => {
      if (get().dirty && !(await get().save())) return;
      const id = get().selectedId;
      if (!id) return;
      try {
        const run = await invoke('workflows/run', { id });
        const { steps: _steps, ...summary } = run;
        set((s) => ({ run, runs: [summary, ...s.runs.filter((r) => r.id !== run.id)] }));
      } catch (err) {
        toast.error(err);
      }
    },

    cancelRun: async () => {
      const run = get().run;
      if (!run) return;
      try {
        set({ run: await invoke('workflows/cancelRun', { runId: run.id }) });
      } catch (err) {
        toast.error(err);
      }
    },

    resumeRunFrom: async (nodeId) => {
      const run = get().run;
      if (!run) return;
      try {
        const resumed = await invoke('workflows/resumeRun', { runId: run.id, fromNodeId: nodeId });
        const { steps: _steps, ...summary } = resumed;
        set((s) => ({ run: resumed, runs: [summary, ...s.runs.filter((r) => r.id !== resumed.id)] }));
      } catch (err) {
        toast.error(err);
      }
    },

    showRun: async (runId) => {
      try {
        const run = await invoke('workflows/runDetail', { runId });
        if (run.workflowId === get().selectedId) set({ run });
      } catch (err) {
        toast.error(err);
      }
    },

    remove: async () => {
      const id = get().selectedId;
      if (!id) return;
      try {
        await invoke('workflows/delete', { id });
        set((s) => ({ workflows: s.workflows.filter((w) => w.id !== id) }));
        get().closeEditor();
        toast.success('Workflow deleted.');
      } catch (err) {
        toast.error(err);
      }
    },
  };
});
