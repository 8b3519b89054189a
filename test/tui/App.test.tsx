import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHistory } from '../../src/core/history.js';
import { makeDemoTools } from './fixtures.js';
import { KEYS, openWorkbench } from './harness.js';

let toolsDir: string;
beforeAll(() => {
  toolsDir = makeDemoTools();
});
afterAll(() => fs.rmSync(toolsDir, { recursive: true, force: true }));

describe('workbench', () => {
  it('runs a tool, streaming its tokens, and shows the step in the history panel', async () => {
    const wb = await openWorkbench({ toolsDir });
    try {
      await wb.type('demo/speak --model_path base --words 2');
      await wb.press(KEYS.enter);
      const f = await wb.waitFor((f) => f.includes('✓ demo/speak'), 'the step in the history panel');
      expect(f).toContain('hello hello');
      expect(f).toContain('spoke 2 words');
      expect(readHistory(wb.cwd).map((r) => r.name)).toEqual(['demo/speak']);
    } finally {
      await wb.cleanup();
    }
  });
});
