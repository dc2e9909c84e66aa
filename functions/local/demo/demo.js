// The demo sign-in of mfa-service: what a SaaS's sign-in page does after the password, for
// every kind of second factor. It calls only its own backend (/demo/api/users/...), which holds
// the API key and forwards to the MFA service's HTTP API.
'use strict';

// WebAuthn works on localhost over plain http, never on an IP address.
if (location.hostname === '127.0.0.1') {
  location.replace(location.href.replace('//127.0.0.1', '//localhost'));
}

const state = { user: '', loginId: null, token: null, tokenFrom: null };
const $ = (selector) => document.querySelector(selector);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'html') el.innerHTML = value;
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) el.append(child.nodeType ? child : String(child));
  }
  return el;
}

function show(...nodes) { $('#panel').replaceChildren(...nodes); }
function say(text, kind = 'info') {
  $('#status').replaceChildren(h('p', { class: kind, 'data-testid': 'status' }, text));
}

/** Runs `fn`, showing its error, if any, as the status. */
async function guarded(fn) {
  try { await fn(); } catch (e) { say(e.message, 'error'); }
}

/** A call of the login backend: the API's answer, or an Error holding the problem document. */
async function api(method, path, body, token) {
  return call(method, `/demo/api/users/${encodeURIComponent(state.user)}${path}`, body, token);
}

async function call(method, url, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers['step-up-token'] = token;
  const response = await fetch(url, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error(data?.detail || data?.title || response.statusText);
    error.problem = data;
    throw error;
  }
  return data;
}

function describe(factor) {
  const label = factor.label ? ` “${factor.label}”` : '';
  switch (factor.type) {
    case 'totp': return `Authenticator app${label}`;
    case 'sms': return `Text message to ${factor.hint}${label}`;
    case 'email': return `Email to ${factor.hint}${label}`;
    case 'webauthn':
      return `${factor.webauthn_kind === 'passkey' ? 'Passkey' : 'Security key'}${label}`;
    default: return factor.type;
  }
}

/** A form of one input and a button; `onSubmit` gets the value. */
function ask(label, testid, button, onSubmit, type = 'text') {
  const input = h('input', { 'data-testid': testid, type, autocomplete: 'one-time-code', 'aria-label': label });
  const form = h('form', { onsubmit: (e) => { e.preventDefault(); guarded(() => onSubmit(input.value.trim())); } },
    h('label', {}, label, ' ', input), ' ',
    h('button', { class: 'primary', type: 'submit', 'data-testid': `${testid}-submit` }, button));
  setTimeout(() => input.focus(), 0);
  return form;
}

// --- Sign in -----------------------------------------------------------------------------------

function signInScreen() {
  state.loginId = null; state.token = null; state.tokenFrom = null; state.recoveryStepUp = null;
  say('Sign in: the password is taken as right.');
  show(h('h2', {}, 'Sign in'), ask('User name', 'user', 'Continue', async (user) => {
    if (!user) throw new Error('Name a user.');
    state.user = user;
    await login();
  }), h('p', {}, 'or ', h('button', { 'data-testid': 'passkey-sign-in', onclick: () => guarded(passkeySignIn) }, 'Sign in with a passkey'),
    h('span', { class: 'note' }, ' (no user name, no password)')));
}

/** Passwordless: any passkey of this site answers, and names its user. */
async function passkeySignIn() {
  const started = await call('POST', '/demo/api/passkey-sign-ins');
  const options = PublicKeyCredential.parseRequestOptionsFromJSON(started.request_options.publicKey);
  const assertion = await navigator.credentials.get({ publicKey: options });
  const signedIn = await call('POST', `/demo/api/passkey-sign-ins/${started.challenge_id}/verify`, { credential: assertion.toJSON() });
  state.user = signedIn.user;
  const decision = await api('POST', '/login', { auth_method: 'passkey', mfa_token: signedIn.mfa_token });
  state.loginId = decision.login_id;
  await signedInWith(signedIn.mfa_token, { type: 'webauthn', webauthn_kind: 'passkey' }, `Hello ${signedIn.user}.`);
}

async function login() {
  const decision = await api('POST', '/login', { auth_method: 'password' });
  state.loginId = decision.login_id;
  switch (decision.decision) {
    case 'challenge': return chooseFactor(decision.factors);
    case 'enroll_required': return signedIn('Your organisation requires a second factor: set one up.');
    case 'enroll_suggested': return signedIn('Signed in. Protect your account with a second factor.');
    default: return signedIn('Signed in.');
  }
}

/** "Use a different method": every active factor, and recovery codes. */
function chooseFactor(factors, reason) {
  say(reason || `Hello ${state.user}: confirm it's you.`);
  show(h('h2', {}, 'Choose how to confirm'),
    h('ul', { class: 'factors' }, factors.map((f) => h('li', {},
      describe(f),
      h('button', { 'data-testid': `use-${f.type}${f.webauthn_kind ? `-${f.webauthn_kind}` : ''}`,
        onclick: () => guarded(() => challenge(f, signedInWith)) }, 'Use this')))),
    h('button', { 'data-testid': 'use-recovery', onclick: recoveryScreen }, 'Use a recovery code'));
}

/** Proves `factor` in the current login, then hands the MFA token to `then`. */
async function challenge(factor, then) {
  const start = (delivery) => api('POST', '/challenges', { login_id: state.loginId, factor_id: factor.id, delivery });
  const answer = await prove(factor, start, (id) => `/challenges/${id}/verify`, login);
  if (answer) await then(answer.mfa_token, factor);
}

/**
 * Proves `factor`: `start(delivery)` makes its challenge, which is answered at `verifyPath(id)`
 * with the key's assertion or the code the user types. A texted code that did not arrive can
 * come as a call instead (`start('voice')`). Resolves to the answer, or to nothing when the user
 * goes `back` instead.
 */
async function prove(factor, start, verifyPath, back) {
  let challenged;
  try {
    challenged = await start();
  } catch (e) {
    if (e.problem?.other_factors) return chooseFactor(e.problem.other_factors, e.message);
    throw e;
  }
  const verify = (proof) => api('POST', verifyPath(challenged.challenge_id), proof);
  if (challenged.delivery === 'webauthn') {
    say(`Use your ${describe(factor).toLowerCase()}.`);
    const options = PublicKeyCredential.parseRequestOptionsFromJSON(challenged.request_options.publicKey);
    const assertion = await navigator.credentials.get({ publicKey: options });
    return verify({ credential: assertion.toJSON() });
  }
  const where = { totp: 'your authenticator app shows', sms: 'we texted you', voice: 'you hear in our call', email: 'we emailed you' };
  say(`Enter the code ${where[challenged.delivery]}.`);
  const callInstead = async () => {
    challenged = await start('voice');
    say(`We're calling you: enter the code ${where[challenged.delivery]}.`);
  };
  // A refused code is shown by `ask` and may be typed again; the promise waits for a right one.
  return new Promise((resolve) => {
    show(h('h2', {}, describe(factor)), ask('Code', 'code', 'Verify', async (code) => resolve(await verify({ code }))),
      challenged.delivery === 'sms'
        ? h('p', {}, 'No text? ', h('button', { 'data-testid': 'call-instead', onclick: () => guarded(callInstead) }, 'Call me instead'))
        : null,
      h('p', {}, h('button', { 'data-testid': 'different-method', onclick: () => { resolve(null); guarded(back); } }, 'Use a different method')));
  });
}

/**
 * A step-up token for `operation`, handed to `then`. A change to one factor is proved by that
 * factor; adding a factor by the recovery code the user signed in with, or by a factor they pick.
 */
async function stepUp(operation, target, then) {
  const proveWith = async (factor) => {
    const start = () => api('POST', '/step-ups', { operation, factor_id: target?.id, with_factor_id: factor.id });
    const answer = await prove(factor, start, (id) => `/step-ups/${id}/verify`, () => signedIn('Nothing changed.'));
    if (answer) await then(answer.step_up_token);
  };
  if (target) return proveWith(target);
  if (state.recoveryStepUp) {
    const token = state.recoveryStepUp;
    state.recoveryStepUp = null;
    return then(token);
  }
  const active = (await api('GET', '/factors')).factors.filter((f) => f.status === 'active');
  if (active.length === 1) return proveWith(active[0]);
  say("Confirm it's you with one of your methods.");
  show(h('h2', {}, "Confirm it's you"),
    h('ul', { class: 'factors' }, active.map((f) => h('li', {},
      describe(f),
      h('button', { 'data-testid': `confirm-${f.type}${f.webauthn_kind ? `-${f.webauthn_kind}` : ''}`,
        onclick: () => guarded(() => proveWith(f)) }, 'Use this')))));
}

function recoveryScreen() {
  say('Enter one of your recovery codes: each works once.');
  show(h('h2', {}, 'Recovery code'), ask('Recovery code', 'recovery-code', 'Sign in', async (code) => {
    // The same code also earns a step-up token to add a factor: the way back after a lost device.
    const answer = await api('POST', '/recovery-codes/verify', { code, login_id: state.loginId, step_up: 'add_factor' });
    await signedInWith(answer.mfa_token, null, `${answer.remaining} recovery codes left.`);
    state.recoveryStepUp = answer.step_up_token;
  }));
}

async function signedInWith(token, factor, extra = '') {
  state.token = token;
  state.recoveryStepUp = null;
  state.tokenFrom = factor ? describe(factor) : 'a recovery code';
  await signedIn(`Signed in with ${state.tokenFrom}. ${extra}`);
}

// --- Signed in: the user's security settings ----------------------------------------------------

async function signedIn(message) {
  say(message, 'ok');
  const { factors } = await api('GET', '/factors');
  const active = factors.filter((f) => f.status === 'active');
  show(
    h('h2', {}, `${state.user}'s sign-in methods`),
    state.token ? h('p', { class: 'note', 'data-testid': 'token' }, `MFA token from ${state.tokenFrom}.`) : null,
    active.length ? h('ul', { class: 'factors' }, active.map((f) => h('li', { 'data-testid': 'factor' },
      describe(f),
      h('span', {},
        f.type === 'sms' ? h('button', { 'data-testid': `change-phone-${f.id}`, onclick: () => changePhone(f) }, 'Change number') : null,
        h('button', { 'data-testid': `remove-${f.id}`, onclick: () => guarded(() => remove(f)) }, 'Remove'))))) :
      h('p', {}, 'No second factor yet.'),
    h('h3', {}, 'Add a method'),
    h('p', {},
      h('button', { 'data-testid': 'enroll-totp', onclick: () => guarded(() => enroll({ type: 'totp', account_name: state.user })) }, 'Authenticator app'),
      h('button', { 'data-testid': 'enroll-sms', onclick: () => enrollTo('sms', 'Phone number', 'phone') }, 'Text message'),
      h('button', { 'data-testid': 'enroll-email', onclick: () => enrollTo('email', 'Email address', 'email') }, 'Email'),
      h('button', { 'data-testid': 'enroll-security-key', onclick: () => guarded(() => enroll({ type: 'webauthn', kind: 'security_key', label: 'Security key' })) }, 'Security key'),
      h('button', { 'data-testid': 'enroll-passkey', onclick: () => guarded(() => enroll({ type: 'webauthn', kind: 'passkey', label: 'Passkey' })) }, 'Passkey')),
    h('p', {}, h('button', { 'data-testid': 'sign-out', onclick: signInScreen }, 'Sign out')));
}

function enrollTo(type, label, field) {
  show(h('h2', {}, `Add ${label.toLowerCase()}`), ask(label, field, 'Send a code', (value) => enroll({ type, [field]: value })));
}

/** Adding a method next to an active one needs a step-up for it. */
async function enroll(body) {
  const { factors } = await api('GET', '/factors');
  if (factors.some((f) => f.status === 'active')) return stepUp('add_factor', null, (token) => enrollWith(body, token));
  return enrollWith(body);
}

async function enrollWith(body, token) {
  const enrolled = await api('POST', '/factors', body, token);
  const factor = enrolled.factor;
  const activate = async (proof) => {
    const activated = await api('POST', `/factors/${factor.id}/activate`, proof);
    if (activated.recovery_codes) return showRecoveryCodes(activated.recovery_codes, describe(factor));
    return signedIn(`${describe(factor)} added.`);
  };
  if (body.type === 'webauthn') {
    say(`Register your ${describe(factor).toLowerCase()}.`);
    const options = PublicKeyCredential.parseCreationOptionsFromJSON(enrolled.creation_options.publicKey);
    const credential = await navigator.credentials.create({ publicKey: options });
    return activate({ credential: credential.toJSON() });
  }
  if (body.type === 'totp') {
    say('Scan the QR code with your authenticator app, then enter the code it shows.');
    return show(h('h2', {}, 'Authenticator app'),
      h('div', { class: 'qr', 'data-testid': 'qr', html: enrolled.qr_svg }),
      h('p', {}, 'Or type the key: ', h('code', { class: 'secret', 'data-testid': 'secret', 'data-uri': enrolled.otpauth_uri }, enrolled.secret)),
      ask('Code', 'code', 'Activate', (code) => activate({ code })));
  }
  say(`We sent a code to ${factor.hint}: enter it.`);
  show(h('h2', {}, describe(factor)), ask('Code', 'code', 'Activate', (code) => activate({ code })));
}

function showRecoveryCodes(codes, what) {
  say(`${what} added. Save these recovery codes: they are shown once.`, 'ok');
  const text = `Recovery codes for ${state.user} (each works once)\n\n${codes.join('\n')}\n`;
  const download = () => {
    const link = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/plain' })), download: 'recovery-codes.txt' });
    link.click();
    URL.revokeObjectURL(link.href);
  };
  show(h('h2', {}, 'Recovery codes'),
    h('ol', { class: 'codes', 'data-testid': 'recovery-codes' }, codes.map((c) => h('li', {}, c))),
    h('button', { 'data-testid': 'download-codes', onclick: download }, 'Download'),
    h('button', { class: 'primary', 'data-testid': 'codes-saved', onclick: () => guarded(() => signedIn('Signed in.')) }, 'I saved them'));
}

/** Removing a factor needs a step-up proved by that same factor. */
async function remove(factor) {
  await stepUp('delete_factor', factor, async (token) => {
    await api('DELETE', `/factors/${factor.id}`, undefined, token);
    await signedIn(`${describe(factor)} removed.`);
  });
}

/** A new number: a step-up proved by a code to the old number, then a code to the new number. */
function changePhone(factor) {
  say('Changing your number needs a code sent to your current number first.');
  show(h('h2', {}, 'Change number'), ask('New phone number', 'new-phone', 'Continue', async (phone) => {
    await stepUp('change_phone', factor, async (token) => {
      const started = await api('POST', `/factors/${factor.id}/phone-change`, { phone }, token);
      say('Now enter the code we texted to your new number.');
      show(h('h2', {}, 'Change number'), ask('Code', 'code', 'Verify', async (code) => {
        const answer = await api('POST', `/factors/${factor.id}/phone-change/${started.challenge_id}`, { code });
        await signedIn(`Your number is now ${answer.factor.hint}.`);
      }));
    });
  }));
}

// --- The inbox ----------------------------------------------------------------------------------

async function refreshInbox() {
  try {
    const messages = await (await fetch('/demo/inbox')).json();
    const heading = { sms: 'Text to', voice: 'Call to', email: 'Email to' };
    $('#inbox').replaceChildren(...messages.map((m) => h('li', { 'data-testid': 'message', 'data-to': m.to },
      h('strong', {}, `${heading[m.channel]} ${m.to}`), h('br'),
      m.channel === 'sms' ? m.body : m.channel === 'voice' ? m.words : m.text)));
  } catch (e) { /* the next poll tries again */ }
}

signInScreen();
refreshInbox();
setInterval(refreshInbox, 1000);
