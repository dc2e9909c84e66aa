// Drives mfa-local's demo page (/demo/) in headless Chromium through every step a person takes:
// sign in, enroll an authenticator app (its code computed here from the QR's otpauth URI, by
// RFC 6238), keep the recovery codes, sign in with one, enroll a security key and a passkey
// (Chromium's DevTools WebAuthn virtual authenticators: CTAP2 without resident keys, and an
// internal one with resident keys and user verification), a text number and an email address
// (codes read from the page's inbox), sign in choosing each kind and with the passkey alone
// (passwordless, a discoverable credential), add methods and remove one with step-ups (by a
// recovery code, the app, a security key, the factor itself), ask for a call when a text did not
// arrive, and change the phone number. A screenshot of each step goes to SCREENSHOTS.
//
// Usage: MFA_DEMO_URL=http://127.0.0.1:PORT/demo/ SCREENSHOTS=dir node demo.cjs
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const DEMO_URL = process.env.MFA_DEMO_URL;
const SHOTS = process.env.SCREENSHOTS || 'screenshots';
const TIMEOUT = 15000;

// --- RFC 6238, written out here: the test's own oracle for the app's codes -------------------

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

const timeStep = () => Math.floor(Date.now() / 1000 / 30);

// --- The run ------------------------------------------------------------------------------------

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  const file = path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

async function step(page, name, fn) {
  process.stdout.write(`- ${name}\n`);
  try {
    await fn();
  } catch (error) {
    await screenshot(page, `${name}-FAILED`).catch(() => {});
    const status = await page.getByTestId('status').allInnerTexts().catch(() => []);
    throw new Error(`${name}: ${error.message}\nthe page's status: ${status.join(' | ')}`);
  }
  await screenshot(page, name);
}

async function statusContains(page, text) {
  await page.getByTestId('status').filter({ hasText: text }).waitFor({ timeout: TIMEOUT });
}

/** The newest code sent to `to`, once more than `before` messages went there. */
/** The code read out in the newest call to `to`, once there are more than `before` messages. */
async function codeCalledTo(page, to, before) {
  await page.waitForFunction(
    ([selector, count]) => document.querySelectorAll(selector).length > count,
    [`[data-testid=message][data-to="${to}"]`, before], { timeout: TIMEOUT });
  const text = await page.locator(`[data-testid=message][data-to="${to}"]`).first().innerText();
  const match = text.match(/^Call to [^\n]*\n.*code is ((?:\d, ){5}\d)\./s);
  if (!match) throw new Error(`no call with a code: ${text}`);
  return match[1].replace(/\D/g, '');
}

async function codeSentTo(page, to, before) {
  const messages = page.locator(`[data-testid=message][data-to="${to}"]`);
  await page.waitForFunction(
    ([selector, count]) => document.querySelectorAll(selector).length > count,
    [`[data-testid=message][data-to="${to}"]`, before], { timeout: TIMEOUT });
  const text = await messages.first().innerText();
  const match = text.match(/\b(\d{6})\b/);
  if (!match) throw new Error(`no code in ${text}`);
  return match[1];
}

const sentTo = (page, to) => page.locator(`[data-testid=message][data-to="${to}"]`).count();

async function submit(page, testid, value) {
  await page.getByTestId(testid).fill(value);
  await page.getByTestId(`${testid}-submit`).click();
}

async function signIn(page, user) {
  await page.getByTestId('sign-out').click();
  await submit(page, 'user', user);
}

/** The factor id of the row whose text contains `text`. */
async function factorId(page, text) {
  const button = page.getByTestId('factor').filter({ hasText: text }).locator('[data-testid^=remove-]');
  return (await button.getAttribute('data-testid')).replace('remove-', '');
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const devtools = await context.newCDPSession(page);
  await devtools.send('WebAuthn.enable', { enableUI: false });
  const authenticator = async (options) => (await devtools.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', automaticPresenceSimulation: false, ...options },
  })).authenticatorId;
  const key = await authenticator({ transport: 'usb', hasResidentKey: false, hasUserVerification: false });
  const passkey = await authenticator({
    transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true,
  });
  /** Only `which` answers WebAuthn requests (the other never sees its user). */
  const use = async (which) => {
    for (const id of [key, passkey]) {
      await devtools.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: id, enabled: id === which });
    }
  };

  const user = `ada-${crypto.randomBytes(4).toString('hex')}`;
  const phone = `+1415${String(220 + crypto.randomInt(680))}${String(crypto.randomInt(10000)).padStart(4, '0')}`;
  const newPhone = `+1628${String(220 + crypto.randomInt(680))}${String(crypto.randomInt(10000)).padStart(4, '0')}`;
  const email = `${user}@example.com`;
  let secret;
  let activationStep;
  let recoveryCodes;

  await step(page, 'sign-in-page', async () => {
    await page.goto(DEMO_URL);
    await page.getByTestId('user').waitFor();
    if (new URL(page.url()).hostname !== 'localhost') throw new Error(`not on localhost: ${page.url()}`);
  });
  await step(page, 'first-sign-in-suggests-a-factor', async () => {
    await submit(page, 'user', user);
    await statusContains(page, 'Protect your account');
  });
  await step(page, 'authenticator-app-qr', async () => {
    await page.getByTestId('enroll-totp').click();
    await page.getByTestId('qr').locator('svg').waitFor();
    const uri = await page.getByTestId('secret').getAttribute('data-uri');
    secret = new URL(uri).searchParams.get('secret');
    if (secret !== (await page.getByTestId('secret').innerText()).trim()) throw new Error('secret shown differs from the URI');
  });
  await step(page, 'recovery-codes-shown-once', async () => {
    activationStep = timeStep();
    await submit(page, 'code', totp(secret, activationStep));
    await page.getByTestId('recovery-codes').waitFor();
    recoveryCodes = await page.getByTestId('recovery-codes').locator('li').allInnerTexts();
    if (recoveryCodes.length !== 10) throw new Error(`${recoveryCodes.length} recovery codes`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-codes').click()]);
    const saved = fs.readFileSync(await download.path(), 'utf8');
    if (!recoveryCodes.every((c) => saved.includes(c))) throw new Error('the download lacks codes');
    await page.getByTestId('codes-saved').click();
    await page.getByTestId('factor').filter({ hasText: 'Authenticator app' }).waitFor();
  });
  await step(page, 'sign-in-with-a-recovery-code', async () => {
    await signIn(page, user);
    await page.getByTestId('use-recovery').click();
    await submit(page, 'recovery-code', recoveryCodes[0]);
    await statusContains(page, '9 recovery codes left');
  });
  await step(page, 'security-key-enrolled', async () => {
    await use(key);
    await page.getByTestId('enroll-security-key').click();
    await statusContains(page, 'Security key “Security key” added');
  });
  let lastTotpStep;
  await step(page, 'passkey-enrolled-with-step-up-by-app', async () => {
    await use(passkey);
    await page.getByTestId('enroll-passkey').click();
    // The recovery code's step-up is used: adding another method is confirmed with one.
    await page.getByTestId('confirm-totp').click();
    while (timeStep() <= activationStep) await page.waitForTimeout(1000); // each code works once
    lastTotpStep = timeStep();
    await submit(page, 'code', totp(secret, lastTotpStep));
    await statusContains(page, 'Passkey “Passkey” added');
    const { credentials } = await devtools.send('WebAuthn.getCredentials', { authenticatorId: passkey });
    if (!credentials.some((c) => c.isResidentCredential)) throw new Error('the passkey is not discoverable');
  });
  await step(page, 'text-number-enrolled-with-step-up-by-key', async () => {
    await use(key);
    const before = await sentTo(page, phone);
    await page.getByTestId('enroll-sms').click();
    await submit(page, 'phone', phone);
    await page.getByTestId('confirm-webauthn-security_key').click();
    await submit(page, 'code', await codeSentTo(page, phone, before));
    await statusContains(page, 'added');
  });
  await step(page, 'email-enrolled-with-step-up-by-key', async () => {
    const before = await sentTo(page, email);
    await page.getByTestId('enroll-email').click();
    await submit(page, 'email', email);
    await page.getByTestId('confirm-webauthn-security_key').click();
    await submit(page, 'code', await codeSentTo(page, email, before));
    await statusContains(page, 'added');
  });
  await step(page, 'choose-among-factors', async () => {
    await signIn(page, user);
    for (const id of ['use-totp', 'use-sms', 'use-email', 'use-webauthn-security_key', 'use-webauthn-passkey', 'use-recovery']) {
      await page.getByTestId(id).waitFor();
    }
  });
  await step(page, 'signed-in-with-security-key', async () => {
    await use(key);
    await page.getByTestId('use-webauthn-security_key').click();
    await statusContains(page, 'Signed in with Security key');
  });
  await step(page, 'signed-in-with-passkey', async () => {
    await use(passkey);
    await signIn(page, user);
    await page.getByTestId('use-webauthn-passkey').click();
    await statusContains(page, 'Signed in with Passkey');
  });
  await step(page, 'passwordless-with-passkey', async () => {
    await use(passkey);
    await page.getByTestId('sign-out').click();
    await page.getByTestId('passkey-sign-in').click();
    await statusContains(page, `Signed in with Passkey. Hello ${user}.`);
  });
  await step(page, 'signed-in-with-authenticator-app', async () => {
    await signIn(page, user);
    await page.getByTestId('use-totp').click();
    while (timeStep() <= lastTotpStep) await page.waitForTimeout(1000); // each code works once
    await submit(page, 'code', totp(secret, timeStep()));
    await statusContains(page, 'Signed in with Authenticator app');
  });
  await step(page, 'different-method-then-text', async () => {
    await signIn(page, user);
    await page.getByTestId('use-totp').click();
    await page.getByTestId('different-method').click();
    const before = await sentTo(page, phone);
    await page.getByTestId('use-sms').click();
    await submit(page, 'code', await codeSentTo(page, phone, before));
    await statusContains(page, 'Signed in with Text message');
  });
  await step(page, 'text-did-not-arrive-call-me-instead', async () => {
    await signIn(page, user);
    const before = await sentTo(page, phone);
    await page.getByTestId('use-sms').click();
    await codeSentTo(page, phone, before); // the text, left unread
    await page.getByTestId('call-instead').click();
    await statusContains(page, "We're calling you");
    await submit(page, 'code', await codeCalledTo(page, phone, before + 1));
    await statusContains(page, 'Signed in with Text message');
  });
  await step(page, 'email-removed-with-step-up', async () => {
    const id = await factorId(page, 'Email to');
    const before = await sentTo(page, email);
    await page.getByTestId(`remove-${id}`).click();
    await submit(page, 'code', await codeSentTo(page, email, before));
    await statusContains(page, 'removed');
    if (await page.getByTestId('factor').filter({ hasText: 'Email to' }).count() !== 0) throw new Error('still listed');
  });
  await step(page, 'phone-number-changed-with-step-up-by-old-number', async () => {
    const id = await factorId(page, 'Text message');
    const [oldBefore, newBefore] = [await sentTo(page, phone), await sentTo(page, newPhone)];
    await page.getByTestId(`change-phone-${id}`).click();
    await submit(page, 'new-phone', newPhone);
    await submit(page, 'code', await codeSentTo(page, phone, oldBefore));
    await submit(page, 'code', await codeSentTo(page, newPhone, newBefore));
    await statusContains(page, `Your number is now`);
  });
  await browser.close();
  process.stdout.write(`demo page: every step passed; screenshots in ${SHOTS}\n`);
}

main().catch((error) => {
  process.stderr.write(`demo page test failed: ${error.stack || error}\nscreenshots: ${SHOTS}\n`);
  process.exit(1);
});
