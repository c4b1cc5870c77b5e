// End-to-end test of the web app in Debian's Chromium, driven by
// playwright-core (no browser download: executablePath /usr/bin/chromium).
//   RZ_BASE   the daemon serving the built app and the API (auth property search booking web)
//   RZ_SHOTS  where screenshots go (docs/screenshots)
// A landlord registers, creates and publishes a listing; a tenant, in its own
// browser context, finds it with a typo, opens it and books it.
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const BASE = process.env.RZ_BASE || 'http://127.0.0.1:8080';
const SHOTS = process.env.RZ_SHOTS || join(here, '../../docs/screenshots');
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
mkdirSync(SHOTS, { recursive: true });

const step = (s) => console.log('-- ' + s);
const fail = (s) => { throw new Error(s); };
const letters = (n) => Array.from({ length: n }, () => 'bcdfghjklmnpqrstvwxz'[Math.floor(Math.random() * 20)]).join('');
const iso = (days) => new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);

// a distinctive word of 9 letters and a typo of it (one substitution)
const WORD = 'q' + letters(3) + 'a' + letters(3) + 'o';
const TYPO = WORD.slice(0, 5) + (WORD[5] === 'z' ? 'x' : 'z') + WORD.slice(6);
const PW = 'correct horse 1';
const uniq = Date.now().toString(36) + letters(4);

const profile = mkdtempSync(join(tmpdir(), 'rz-chromium-'));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // the fresh profile: Playwright gives every launch a new empty one too
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--disk-cache-dir=${join(profile, 'cache')}`],
});
const consoleErrors = [];
async function newPage(viewport = DESKTOP) {
  const ctx = await browser.newContext({ viewport, baseURL: BASE });
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  return { ctx, page };
}
async function shot(page, name) {
  for (const [tag, vp] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(SHOTS, `${name}-${tag}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}
async function register(page, role, name) {
  await page.goto('/app/register');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(`${name.toLowerCase()}-${uniq}@example.com`);
  await page.getByLabel('Password').fill(PW);
  await page.getByLabel(role === 'landlord' ? 'Landlord' : 'Tenant').check();
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText(name, { exact: true }).waitFor({ timeout: 10000 });
}

let ok = false;
try {
  step('the app loads at / and at a client-side route');
  const { page: anon } = await newPage();
  await anon.goto('/');
  await anon.getByRole('link', { name: 'RentEzy' }).waitFor({ timeout: 10000 });
  await anon.goto('/app/register');
  await anon.getByRole('heading', { name: 'Create an account' }).waitFor();
  // an API error next to the field: a password the API refuses
  await anon.getByLabel('Name').fill('Shorty');
  await anon.getByLabel('Email').fill(`short-${uniq}@example.com`);
  await anon.getByLabel('Password').fill('short');
  await anon.getByRole('button', { name: 'Sign up' }).click();
  const pwErr = anon.locator('#' + (await anon.getByLabel('Password').getAttribute('aria-describedby')));
  await pwErr.waitFor({ timeout: 5000 }).catch(() => fail('the API error for the password is not shown next to it'));
  step(`  the API says next to the password: "${await pwErr.textContent()}"`);
  await shot(anon, 'register');

  step('a landlord registers, creates and publishes a listing');
  const { page: ll } = await newPage();
  await register(ll, 'landlord', 'Lou');
  await ll.getByRole('heading', { name: 'My listings' }).waitFor();
  const title = `Bright ${WORD} loft by the canal`;
  await ll.getByLabel('Title').fill(title);
  await ll.getByLabel('Description').fill('A quiet top-floor flat with a balcony over the canal, five minutes from the tram.');
  await ll.getByLabel('Type').selectOption('loft');
  await ll.getByLabel('Street').fill('Canal Quay 7');
  await ll.getByLabel('City').fill('Dublin');
  await ll.getByLabel('Region or neighbourhood').fill('Portobello');
  await ll.getByLabel('Postal code').fill('D08');
  await ll.getByLabel('Maximum guests').fill('3');
  await ll.getByLabel('Nightly price (EUR)').fill('90');
  await ll.getByLabel('Wifi').check();
  await ll.getByLabel('Balcony').check();
  await ll.getByRole('button', { name: 'Save draft' }).click();
  await ll.getByText(/Draft “.*” saved/).waitFor({ timeout: 10000 }).catch(async () => {
    const errs = await ll.locator('.error').allTextContents();
    fail('the draft was not saved: ' + errs.join(' | '));
  });
  await ll.getByRole('button', { name: `Publish “${title}”` }).click();
  await ll.getByText(`“${title}” published.`).waitFor({ timeout: 10000 });
  await shot(ll, 'landlord');

  step(`a tenant finds it with a typo ("${TYPO}" for "${WORD}") and books it`);
  const { page: tn } = await newPage();
  await register(tn, 'tenant', 'Tia');
  await tn.goto('/app');
  const box = tn.getByLabel('Where or what');
  await box.pressSequentially(TYPO, { delay: 30 }); // results as the tenant types
  const hit = tn.getByRole('link', { name: new RegExp(WORD) });
  await hit.waitFor({ timeout: 15000 }).catch(() => fail('the listing is not found with the typo'));
  const count = tn.locator('.filters label', { hasText: 'Loft' }).locator('.count');
  const facet = (await count.textContent()).trim();
  if (facet === '0') fail('the type facet does not count the loft');
  step(`  found; facet Loft = ${facet}`);
  // price filter: a range below the price hides it, one around it shows it
  await tn.getByLabel('Maximum').fill('50');
  await hit.waitFor({ state: 'detached', timeout: 10000 }).catch(() => fail('a maximum price of 50 does not hide the 90 listing'));
  await tn.getByLabel('Maximum').fill('100');
  await hit.waitFor({ timeout: 10000 });
  await shot(tn, 'search');
  await hit.click();
  await tn.getByRole('heading', { name: title }).waitFor();
  // client-side validation next to the field
  await tn.getByLabel('Check-in').fill(iso(30));
  await tn.getByLabel('Check-out').fill(iso(33));
  await tn.getByLabel('Guests').fill('9');
  await tn.getByRole('button', { name: 'Book now' }).click();
  await tn.getByText('At most 3 guests').waitFor({ timeout: 5000 });
  await tn.getByLabel('Guests').fill('2');
  await shot(tn, 'listing');
  await tn.getByRole('button', { name: 'Book now' }).click();
  const st = tn.getByRole('status').filter({ hasText: 'Status' });
  await st.waitFor({ timeout: 10000 }).catch(async () => fail('no booking: ' + (await tn.locator('.error').allTextContents()).join(' | ')));
  const text = await st.textContent();
  if (!/€270\.00/.test(text)) fail('the total is not €270.00: ' + text);
  step('  booked: ' + text.replace(/\s+/g, ' '));
  await shot(tn, 'booked');
  if (process.env.RZ_NOTIFY === '1') {
    step('the notification bells update live over the WebSocket');
    for (const [who, pg] of [['tenant', tn], ['landlord', ll]]) {
      await pg.getByTestId('unread').waitFor({ timeout: 15000 }).catch(() => fail(`the ${who}'s bell did not update`));
      step(`  ${who}: ${await pg.getByRole('button', { name: /Notifications/ }).getAttribute('aria-label')}`);
    }
    await tn.getByRole('button', { name: /Notifications/ }).click();
    await tn.getByRole('region', { name: 'Notifications' }).getByText(/held|request/i).first().waitFor({ timeout: 5000 });
    await shot(tn, 'notifications');
    await tn.getByRole('button', { name: /Notifications/ }).click();
  }

  step('the same dates again: the API error is shown next to the dates');
  await tn.goto(new URL(tn.url()).pathname);
  await tn.getByLabel('Check-in').fill(iso(30));
  await tn.getByLabel('Check-out').fill(iso(33));
  await tn.getByLabel('Guests').fill('2');
  await tn.getByRole('button', { name: 'Book now' }).click();
  const dateErr = tn.locator('.field.has-error .error, .banner');
  await dateErr.first().waitFor({ timeout: 10000 }).catch(() => fail('the conflict is not shown'));
  step('  ' + (await dateErr.first().textContent()));

  step('the tenant sees the booking in the list');
  await tn.getByRole('link', { name: 'Bookings' }).click();
  await tn.getByRole('cell', { name: /Pending payment|Confirmed|Requested/ }).first().waitFor({ timeout: 10000 });
  await shot(tn, 'bookings');

  if (consoleErrors.length) console.log('browser console errors (not fatal):\n  ' + consoleErrors.slice(0, 10).join('\n  '));
  ok = true;
} catch (e) {
  console.error('FAILED: ' + e.message);
  if (consoleErrors.length) console.error('browser console errors:\n  ' + consoleErrors.slice(0, 10).join('\n  '));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(ok ? 'e2e ok' : 'e2e FAILED');
process.exit(ok ? 0 : 1);
