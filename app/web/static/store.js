// What the browser keeps, and where (the trade-off is written down in docs/web.md):
// - localStorage "madoguchi.applications": the applications made on this device (id,
//   procedure, the access token of one made without a card login), so マイページ lists
//   them and a draft resumes after a reload or another day;
// - localStorage "madoguchi.unsaved": values the server refused while saving a draft
//   (an invalid postcode, say), kept until they are corrected, so 戻る loses nothing;
// - sessionStorage "madoguchi.citizen": the card login (15 minutes, this tab only).

const APPLICATIONS_KEY = "madoguchi.applications";
const LEGACY_DRAFTS_KEY = "madoguchi.drafts";
const UNSAVED_KEY = "madoguchi.unsaved";
const CITIZEN_KEY = "madoguchi.citizen";
const AFTER_LOGIN_KEY = "madoguchi.after-login";
const PAYMENT_RETURN_KEY = "madoguchi.payment-return";

function readJson(storage, key, fallback) {
  try {
    return JSON.parse(storage.getItem(key) || "null") ?? fallback;
  } catch {
    return fallback;
  }
}

// ---- applications made on this device

export function deviceApplications() {
  const stored = readJson(localStorage, APPLICATIONS_KEY, null);
  if (stored) return stored;
  // The first client kept drafts under another name; carry them over once.
  const legacy = readJson(localStorage, LEGACY_DRAFTS_KEY, {});
  localStorage.setItem(APPLICATIONS_KEY, JSON.stringify(legacy));
  localStorage.removeItem(LEGACY_DRAFTS_KEY);
  return legacy;
}

export function rememberApplication(entry) {
  const all = deviceApplications();
  all[entry.id] = { ...all[entry.id], ...entry };
  localStorage.setItem(APPLICATIONS_KEY, JSON.stringify(all));
}

export function forgetApplication(id) {
  const all = deviceApplications();
  delete all[id];
  localStorage.setItem(APPLICATIONS_KEY, JSON.stringify(all));
  forgetUnsaved(id);
}

// ---- the card login

export function citizenLogin() {
  const stored = readJson(sessionStorage, CITIZEN_KEY, null);
  if (!stored || stored.expires_at < Date.now() + 10_000) return null;
  return stored;
}

export function citizenToken() {
  return citizenLogin()?.token || null;
}

export function rememberCitizenLogin(token, expiresIn) {
  sessionStorage.setItem(CITIZEN_KEY, JSON.stringify({
    token, expires_at: Date.now() + expiresIn * 1000,
  }));
}

export function forgetCitizenLogin() {
  sessionStorage.removeItem(CITIZEN_KEY);
}

/** The credentials of an application: its own access token, else the card login. */
export function tokenFor(id) {
  return deviceApplications()[id]?.token || citizenToken();
}

// ---- where to go after logging in again

/** Where the card login returns to; `expired`: the login is asked for again. */
export function setAfterLogin(hash, expired = false) {
  sessionStorage.setItem(AFTER_LOGIN_KEY, JSON.stringify({ hash, expired }));
}

export function afterLogin() {
  return readJson(sessionStorage, AFTER_LOGIN_KEY, null);
}

export function takeAfterLogin() {
  const stored = afterLogin();
  sessionStorage.removeItem(AFTER_LOGIN_KEY);
  return stored;
}

// ---- the payment provider's return (kept until the status page has shown it)

export function setPaymentReturn(id, result) {
  sessionStorage.setItem(PAYMENT_RETURN_KEY, JSON.stringify({ id, result }));
}

export function takePaymentReturn(id) {
  const stored = readJson(sessionStorage, PAYMENT_RETURN_KEY, null);
  if (!stored || stored.id !== id) return null;
  sessionStorage.removeItem(PAYMENT_RETURN_KEY);
  return stored.result;
}

// ---- values the server refused while saving a draft

/** {values: {pointer: value}, errors: [...]} of a submission, or null. */
export function unsaved(id) {
  return readJson(localStorage, UNSAVED_KEY, {})[id] || null;
}

export function rememberUnsaved(id, values, errors) {
  const all = readJson(localStorage, UNSAVED_KEY, {});
  if (Object.keys(values).length) all[id] = { values, errors };
  else delete all[id];
  localStorage.setItem(UNSAVED_KEY, JSON.stringify(all));
}

export function forgetUnsaved(id) {
  rememberUnsaved(id, {}, []);
}
