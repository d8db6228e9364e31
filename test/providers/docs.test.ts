// Comments in the provider code cite sections of docs/providers.md by heading; this keeps every
// citation pointing at a heading that exists, and outside documents out of the code.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

const files = [
  ...sources('src/providers'),
  ...sources('src/engine'),
  ...sources('scripts'),
  join(ROOT, 'src/net/http.ts'),
];
const headings = new Set(
  readFileSync(join(ROOT, 'docs/providers.md'), 'utf8')
    .split('\n')
    .filter((line) => /^#{1,4} /.test(line))
    .map((line) => line.replace(/^#+ /, '').trim()),
);

describe('docs/providers.md citations', () => {
  it('every cited section exists', () => {
    const cited: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/docs\/providers\.md,[\s/*]*"([^"]+)"(?:[\s/*]+and[\s/*]+"([^"]+)")?/g)) {
        cited.push(m[1]!, ...(m[2] ? [m[2]] : []));
      }
    }
    expect(cited.length).toBeGreaterThan(10);
    expect(cited.filter((h) => !headings.has(h))).toStrictEqual([]);
  });

  it('no comment anywhere in src/ or scripts/ cites an outside document', () => {
    const outside = [...sources('src'), ...sources('scripts')].filter((file) =>
      /§\s*\d|protocol notes|provider-protocols|discord-platform|shared\/(reference|provider-docs|CONTRACT)/.test(
        readFileSync(file, 'utf8'),
      ),
    );
    expect(outside).toStrictEqual([]);
  });
});
