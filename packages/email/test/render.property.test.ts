import type { Notification } from '@epochcast/notify';
import { arbitraryNotification, LONE_SURROGATE } from '@epochcast/testkit';
import fc from 'fast-check';
import { Parser } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { renderEmail } from '../src/render.js';

const RUNS = { numRuns: 150 };
const notification = arbitraryNotification(fc);

const EMAIL_TAGS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'body',
  'div',
  'h1',
  'h2',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'pre',
  'img',
  'p',
]);
const VOID = new Set(['meta', 'img']);

function parseEmailHtml(html: string): void {
  const open: string[] = [];
  const parser = new Parser(
    {
      onopentag(name) {
        if (!EMAIL_TAGS.has(name)) throw new Error(`tag <${name}>`);
        if (!VOID.has(name)) open.push(name);
      },
      onclosetag(name, implied) {
        if (VOID.has(name)) return;
        if (implied) throw new Error(`<${name}> closed implicitly`);
        if (open.pop() !== name) throw new Error(`misnested </${name}>`);
      },
    },
    { decodeEntities: true, recognizeSelfClosing: false },
  );
  parser.end(html);
  if (open.length > 0) throw new Error(`unclosed ${open.join(',')}`);
}

describe('e-mail, for arbitrary notifications', () => {
  it('e-mail HTML parses with only its own tags, the subject is one short line', () => {
    fc.assert(
      fc.property(notification, fc.boolean(), (n, withPlot) => {
        const plot = { title: n.run.name, svg: '', png: async () => new Uint8Array() };
        const e = renderEmail(withPlot ? { ...n, plot: plot as unknown as NonNullable<Notification['plot']> } : n);
        expect(e.subject).not.toMatch(/[\r\n]/);
        expect(e.subject.length).toBeLessThanOrEqual(200);
        parseEmailHtml(e.html);
        expect(e.html).not.toMatch(/<script/i);
        expect(e.html).not.toMatch(LONE_SURROGATE);
      }),
      RUNS,
    );
  });
});
