/** catalogue/* handlers: export as YAML, preview an import, apply it all or nothing. */
import type { Core } from '../../core/core';
import type { HandlersFor } from '../router';

export type CatalogueCallName = 'catalogue/export' | 'catalogue/previewImport' | 'catalogue/applyImport';

export function catalogueHandlers(core: Core): HandlersFor<CatalogueCallName> {
  return {
    'catalogue/export': () => core.catalogue.exportYaml(),
    'catalogue/previewImport': ({ yaml }) => core.catalogue.preview(yaml),
    'catalogue/applyImport': ({ yaml }) => core.catalogue.apply(yaml),
  };
}
