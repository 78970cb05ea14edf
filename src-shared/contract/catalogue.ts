/**
 * Catalogue import and export: servers (without credentials), events (with their version), schedules, workflows and
 * variables (without secret values) as one readable YAML document that diffs well in version control. An import is
 * previewed first (what would be created, updated, left unchanged, or conflicts) and applied all or nothing; a file
 * with any problem (unknown field, wrong type, a reference to a missing server, a newer format) is refused as a whole
 * with every problem listed.
 */
import { z } from 'zod';
import { call, NoInput } from './define';

/** The largest import accepted (a catalogue of thousands of events is far below it). */
export const MAX_CATALOGUE_BYTES = 10 * 1024 * 1024;

export const CatalogueItemKind = z.enum(['server', 'event', 'workflow', 'variable']);
export type CatalogueItemKind = z.infer<typeof CatalogueItemKind>;

export const CatalogueAction = z.enum(['create', 'update', 'unchanged', 'conflict']);
export type CatalogueAction = z.infer<typeof CatalogueAction>;

export const CataloguePreviewItem = z.object({
  kind: CatalogueItemKind,
  /** Server, event or workflow name; for a variable "scope / key". */
  name: z.string(),
  action: CatalogueAction,
  /** For an update: the fields that change; for a conflict: why it cannot be applied. */
  detail: z.string().nullable(),
});
export type CataloguePreviewItem = z.infer<typeof CataloguePreviewItem>;

export const CataloguePreview = z.object({
  formatVersion: z.number().int().nullable(),
  /** Every problem of the file ("events[2].timeoutSeconds: expected number"); the import is refused if any. */
  problems: z.array(z.string()),
  items: z.array(CataloguePreviewItem),
  counts: z.object({ create: z.number().int(), update: z.number().int(), unchanged: z.number().int(), conflict: z.number().int() }),
  /** True when applying would succeed: no problems and no conflicts. */
  applicable: z.boolean(),
});
export type CataloguePreview = z.infer<typeof CataloguePreview>;

const ImportInput = z.object({ yaml: z.string().max(MAX_CATALOGUE_BYTES) });

export const catalogueCalls = {
  'catalogue/export': call(NoInput, z.object({ yaml: z.string(), fileName: z.string() })),
  'catalogue/previewImport': call(ImportInput, CataloguePreview),
  /** Applies in one transaction; refused (IMPORT_REFUSED, details.problems) when the preview is not applicable. */
  'catalogue/applyImport': call(ImportInput, CataloguePreview),
};

export const catalogueEvents = {};
