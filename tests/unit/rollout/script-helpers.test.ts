// What the migration wizard reads from a script: the helpers it calls and the direct-ssh-only variables it relies on.
import { describe, expect, it } from 'vitest';
import { scriptHelperUse } from '../../../src-main/core/rollout/script-helpers';

describe('reading a script for the migration wizard', () => {
  it('finds bash helper calls and nothing direct-only in a runner-ready script', () => {
    expect(scriptHelperUse('x=$(cronium_get_variable greeting)\ncronium_output "$x"\ncronium_set_condition true', 'bash')).toEqual({
      helpers: ['cronium_get_variable', 'cronium_output', 'cronium_set_condition'],
      directOnly: [],
    });
  });

  it('finds python and node helper calls', () => {
    expect(scriptHelperUse('import cronium\ncronium.setVariable("a", 1)\nprint(cronium.input())', 'python').helpers).toEqual(['cronium.input', 'cronium.setVariable']);
    expect(scriptHelperUse('await cronium.output({a: 1}); await cronium.event()', 'node').helpers).toEqual(['cronium.event', 'cronium.output']);
  });

  it('reports each direct-ssh-only variable once, with what to use in runner mode', () => {
    const use = scriptHelperUse('echo "$CRONIUM_VAR_greeting $CRONIUM_VAR_greeting"\necho "$CRONIUM_INPUT" "$CRONIUM_EVENT_ID"', 'bash');
    expect(use.directOnly).toEqual([
      { name: 'CRONIUM_VAR_greeting', instead: 'cronium_get_variable greeting' },
      { name: 'CRONIUM_INPUT', instead: 'cronium_input' },
      { name: 'CRONIUM_EVENT_ID', instead: 'cronium_event' },
    ]);
    expect(scriptHelperUse('import os\nos.environ["CRONIUM_VARIABLES"]', 'python').directOnly).toEqual([{ name: 'CRONIUM_VARIABLES', instead: 'cronium.getVariable("<name>")' }]);
  });

  it('does not mistake CRONIUM_JOB_ID (set in both modes) for a direct-only variable', () => {
    expect(scriptHelperUse('echo "$CRONIUM_JOB_ID"', 'bash').directOnly).toEqual([]);
  });
});
