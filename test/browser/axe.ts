// The accessibility check of the demo page's states: axe-core (the npm package, run in the page as
// its own script) on the whole document, keeping the violations axe rates serious or critical.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { TestPage } from './browsers.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  /** The elements at fault (their CSS selectors). */
  nodes: string[];
}

/** The serious and critical violations axe finds in the page as it is now (axe is added to it once). */
export async function seriousViolations(page: TestPage): Promise<AxeViolation[]> {
  return page.evaluate(async (source) => {
    const w = window as unknown as { axe?: { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } };
    if (!w.axe) (0, eval)(source);
    const { violations } = await w.axe!.run(document, { resultTypes: ['violations'] });
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  }, AXE_SOURCE);
}
