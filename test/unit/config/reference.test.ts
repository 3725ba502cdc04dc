import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configReferenceMarkdown } from '../../../proxy/config/reference.js';

describe('docs/configuration.md', () => {
  it('contains the reference table generated from the schema (regenerate with `node dist/proxy/cli/main.js config-reference`)', async () => {
    const doc = await readFile(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).toContain(configReferenceMarkdown());
  });
});
