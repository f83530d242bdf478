/// <reference lib="dom" />
/**
 * The collection page as a person uses it, in headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core): keyboard labels, undo, reload and resume, two annotators in two pages, HTML and
 * script in texts shown literally, no request leaves the origin, and a screenshot whose layout is
 * checked (the two responses side by side). Skipped with a message only when no Chromium is found
 * and CI is unset; in CI a missing browser fails the test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectSession } from './collect-session';
import { readJournal } from './journal';
import { serveCollect, type CollectServer } from './serve-collect';

function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, 'chromium', 'chromium-browser', 'google-chrome'];
  for (const candidate of candidates) {
    if (!candidate) continue;
    if (candidate.includes('/')) {
      if (existsSync(candidate)) return candidate;
      continue;
    }
    try {
      const path = execFileSync('sh', ['-c', `command -v ${candidate}`], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      // not installed under this name
    }
  }
  return undefined;
}

const chromium = findChromium();
if (chromium === undefined && !process.env.CI) {
  console.warn('browser.test.ts: SKIPPED — no chromium found (install Debian\'s chromium or set CHROMIUM_PATH); CI runs it.');
}
const describeBrowser = chromium === undefined && !process.env.CI ? describe.skip : describe;

const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const items = [
  { id: 'x0', prompt: `Explain this snippet: ${HOSTILE}`, a: '<b>bold?</b> no, literal', b: 'A plain answer.\nWith two lines.', category: 'coding' },
  { id: 'x1', prompt: 'What is 2+2?', a: '4', b: 'Five.', category: 'math' },
  { id: 'x2', prompt: 'Name a colour.', a: 'Blue.', b: 'Loud.', category: 'general' },
  { id: 'x3', prompt: 'Say hi.', a: 'Hi!', b: 'Goodbye.', category: 'general' },
  { id: 'x4', prompt: 'Capital of France?', a: 'Paris.', b: 'Lyon.', category: 'general' },
];

describeBrowser('the collection page in Chromium', () => {
  const root = mkdtempSync(join(tmpdir(), 'pref-collect-browser-'));
  let browser: Browser;
  let session: CollectSession;
  let server: CollectServer;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (chromium === undefined) throw new Error('CI is set but no chromium was found: .ci/run installs it with apt');
    session = await CollectSession.open({ outDir: join(root, 'datasets'), source: { kind: 'items', items, description: 'browser test' }, seed: 'browser' });
    server = await serveCollect(session);
    browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await session?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function openPage(context: Awaited<ReturnType<Browser['createBrowserContext']>>, name: string): Promise<Page> {
    const page = await context.newPage();
    await page.setViewport({ width: 1280, height: 860 });
    const origin = new URL(server.url).origin;
    page.on('request', (request) => {
      if (!request.url().startsWith(origin) && !request.url().startsWith('data:')) foreignRequests.push(request.url());
    });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="who"]');
    await page.type('#name', name);
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-state="ready"]');
    return page;
  }

  const indexOf = (page: Page) => page.$eval('body', (body) => ({ index: body.dataset.index, state: body.dataset.state }));
  async function pressAndWait(page: Page, key: Parameters<Page['keyboard']['press']>[0], expected: string): Promise<void> {
    await page.keyboard.press(key);
    await page.waitForFunction((want: string) => document.body.dataset.state === 'ready' && document.body.dataset.index === want, {}, expected);
  }

  it('labels with the keyboard, undoes, resumes after a reload, and shows texts literally', async () => {
    const alice = await openPage(await browser.createBrowserContext(), 'alice');
    expect(await indexOf(alice)).toEqual({ index: '0', state: 'ready' });
    // Texts are inserted as text: the markup shows literally and nothing in it runs.
    expect(await alice.$eval('#prompt', (el) => el.textContent)).toBe(items[0]!.prompt);
    expect(await alice.$$eval('#prompt img, #prompt script, #left-text b, #right-text b', (els) => els.length)).toBe(0);
    const shown = await alice.$$eval('#left-text, #right-text', (els) => els.map((el) => el.textContent));
    expect([...shown].sort()).toEqual([items[0]!.a, items[0]!.b].sort());
    expect(await alice.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

    // Layout: the two responses side by side, same top, similar widths, inside the viewport.
    const boxes = await alice.$$eval('#left-card, #right-card', (els) => els.map((el) => el.getBoundingClientRect().toJSON() as DOMRect));
    const [left, right] = boxes as [DOMRect, DOMRect];
    expect(left.top).toBe(right.top);
    expect(left.right).toBeLessThan(right.left);
    expect(Math.abs(left.width - right.width)).toBeLessThan(2);
    expect(right.right).toBeLessThanOrEqual(1280);
    const screenshot = join(root, 'collect-page.png') as `${string}.png`;
    await alice.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
    if (process.env.PREF_SCREENSHOT_DIR) await alice.screenshot({ path: join(process.env.PREF_SCREENSHOT_DIR, 'collect-page.png') as `${string}.png`, fullPage: true });

    // Help opens with ? and closes with Escape; keys do nothing while it is open.
    await alice.keyboard.press('?');
    expect(await alice.$eval('#help', (el) => !el.classList.contains('hidden'))).toBe(true);
    await alice.keyboard.press('Escape');
    expect(await alice.$eval('#help', (el) => el.classList.contains('hidden'))).toBe(true);

    // A note typed in the box goes with the decision; keys typed there do not decide.
    await alice.click('#note');
    await alice.keyboard.type('1 2 t s u are text here');
    await alice.keyboard.press('Escape');
    await pressAndWait(alice, '1', '1');
    await pressAndWait(alice, 'ArrowRight', '2');
    await pressAndWait(alice, 'u', '1');
    await pressAndWait(alice, 't', '2');
    // Reload mid-way: the page comes back at the item alice holds.
    await alice.reload();
    await alice.waitForSelector('body[data-state="ready"]');
    expect((await indexOf(alice)).index).toBe('2');
    await pressAndWait(alice, 's', '3');

    // A second annotator in another browser context gets a different item (alice holds 3; she skipped 2).
    const bob = await openPage(await browser.createBrowserContext(), 'bob');
    expect((await indexOf(bob)).index).toBe('2');
    // bob's next is 4 (3 is held by alice); when alice labels 3, nothing is left for her (k = 1).
    await pressAndWait(bob, '2', '4');
    await alice.keyboard.press('ArrowLeft');
    await alice.waitForSelector('body[data-state="done"]');
    await bob.keyboard.press('1');
    await bob.waitForSelector('body[data-state="done"]');
    await bob.reload();
    await bob.waitForSelector('body[data-state="done"]');

    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);

    await session.flush();
    const entries = readJournal(session.journalPath);
    const decisions = entries.filter((e) => e.type === 'decision');
    expect(decisions.map((d) => d.type === 'decision' && [d.annotator, d.index, d.choice])).toEqual([
      ['alice', 0, 'left'],
      ['alice', 1, 'right'],
      ['alice', 1, 'tie'],
      ['alice', 2, 'skip'],
      ['bob', 2, 'right'],
      ['alice', 3, 'left'],
      ['bob', 4, 'left'],
    ]);
    expect(entries.filter((e) => e.type === 'undo')).toHaveLength(1);
    const first = decisions[0]!;
    expect(first.type === 'decision' && first.note).toBe('1 2 t s u are text here');
    const dataset = JSON.parse(readFileSync(session.datasetJsonPath, 'utf8')) as Array<{ prompt: string; chosen: string; metadata: { source: string } }>;
    // Items 0, 2, 3, 4 have a winner; item 1 is a tie (no pair).
    expect(dataset.map((p) => p.prompt)).toEqual([items[0]!.prompt, items[2]!.prompt, items[3]!.prompt, items[4]!.prompt]);
    expect(dataset.every((p) => p.metadata.source === 'user_collected')).toBe(true);
  });
});
