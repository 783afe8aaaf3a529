// The citizen client: choose a procedure, log in with the My Number card when the
// procedure needs it, fill in (drafts saved on the server, resumable), review, sign,
// pay, and follow the status. Hash routes (#/...) so the server serves one page.

import { ApiError, api } from "./api.js";
import { loadTestCard, missingCardFiles, signText, testCard } from "./card.js";
import { el } from "./dom.js";
import {
  StepView,
  answersToSend,
  errorMessage,
  labelOfPath,
  missingRequired,
  stepOfPath,
  visibleSteps,
} from "./form.js";
import { dateTime, lang, loc, setLang, t, yen } from "./i18n.js";

const main = document.getElementById("main");
const DRAFTS_KEY = "madoguchi.drafts";
const CITIZEN_KEY = "madoguchi.citizen";

let config = { environment: "production", test_card_enabled: false };
const procedureCache = new Map();
// Errors of the last failed submit, shown again on the step they belong to.
let pendingErrors = [];

// ---- storage: drafts (access tokens) survive a reload; the card login is short-lived

function drafts() {
  return JSON.parse(localStorage.getItem(DRAFTS_KEY) || "{}");
}

function rememberDraft(entry) {
  const all = drafts();
  all[entry.id] = { ...all[entry.id], ...entry };
  localStorage.setItem(DRAFTS_KEY, JSON.stringify(all));
}

function forgetDraft(id) {
  const all = drafts();
  delete all[id];
  localStorage.setItem(DRAFTS_KEY, JSON.stringify(all));
}

function citizenToken() {
  const stored = JSON.parse(sessionStorage.getItem(CITIZEN_KEY) || "null");
  if (!stored || stored.expires_at < Date.now() + 10_000) return null;
  return stored.token;
}

function tokenFor(id) {
  return drafts()[id]?.token || citizenToken();
}

// ---- page chrome

function renderChrome() {
  document.documentElement.lang = lang();
  document.title = t("siteName");
  document.getElementById("site-name").textContent = t("siteName");
  document.getElementById("skip-link").textContent = t("skipLink");
  document.getElementById("footer-text").textContent = t("footer");
  const toggle = document.getElementById("lang-switch");
  toggle.textContent = t("switchLanguage");
  toggle.lang = t("switchLanguageLang");
  const banner = document.getElementById("dev-banner");
  banner.hidden = !config.test_card_enabled;
  banner.textContent = t("devBanner", { environment: config.environment });
}

function show(...children) {
  main.replaceChildren(...children.flat(Infinity).filter((child) => child != null && child !== false));
  const heading = main.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

function link(href, text, className) {
  return el("a", { href, class: className || null }, text);
}

function notice(text, kind = "info") {
  return el("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** The error summary at the top: every problem, each linking to its field. */
function errorSummary(errors, onSelect) {
  const items = errors.map((error) => {
    const text = error.label ? `${error.label}: ${errorMessage(error)}` : errorMessage(error);
    const anchor = el("a", { href: `#${error.targetId || ""}` }, text);
    anchor.addEventListener("click", (event) => {
      event.preventDefault();
      onSelect(error);
    });
    return el("li", {}, anchor);
  });
  return el("div", {
    class: "error-summary", role: "alert", tabindex: "-1", "aria-labelledby": "error-summary-title",
  },
  el("h2", { id: "error-summary-title" }, t("errorSummaryTitle")),
  el("p", {}, t("errorSummaryCount", { count: errors.length })),
  el("ul", {}, items));
}

async function procedureOf(code, procedureCode) {
  const key = `${code}/${procedureCode}`;
  if (!procedureCache.has(key)) procedureCache.set(key, await api.procedure(code, procedureCode));
  return procedureCache.get(key);
}

// ---- screens

async function municipalitiesPage() {
  const list = await api.municipalities();
  const items = list.items.map((m) =>
    el("li", {}, link(`#/m/${m.code}`, loc(m.name)), el("span", { class: "meta" }, m.prefecture)));
  const saved = Object.values(drafts()).filter((draft) => !draft.submitted);
  show(
    el("h1", {}, t("chooseMunicipality")),
    el("ul", { class: "choices" }, items),
    saved.length ? el("section", { "aria-labelledby": "drafts-title" },
      el("h2", { id: "drafts-title" }, t("draftsTitle")),
      el("ul", { class: "choices" }, saved.map((draft) =>
        el("li", {}, link(`#/s/${draft.id}/step/${draft.step || 0}`,
          `${loc(draft.title)}（${t("resumeDraft")}）`))))) : null,
  );
}

async function proceduresPage(code) {
  const [municipalities, procedures] = await Promise.all([api.municipalities(), api.procedures(code)]);
  const municipality = municipalities.items.find((m) => m.code === code);
  const name = municipality ? loc(municipality.name) : code;
  show(
    link("#/", t("backToMunicipalities"), "back"),
    el("h1", {}, t("municipalityProcedures", { municipality: name })),
    el("ul", { class: "choices procedures" }, procedures.items.map((p) =>
      el("li", {}, link(`#/m/${code}/p/${p.code}`, loc(p.title)),
        el("span", { class: "meta" }, `${loc(p.department)}・${loc(p.fee_summary)}`)))),
  );
}

async function procedurePage(code, procedureCode) {
  const procedure = await procedureOf(code, procedureCode);
  const definition = procedure.definition;
  const start = el("button", { type: "button", class: "primary" }, t("start"));
  start.addEventListener("click", () => {
    const needsCard = definition.identity_requirement && definition.identity_requirement !== "none";
    if (needsCard && !citizenToken()) location.hash = `#/m/${code}/p/${procedureCode}/login`;
    else startApplication(code, procedureCode);
  });
  const existing = Object.values(drafts()).find((d) =>
    !d.submitted && d.municipality === code && d.procedure === procedureCode);
  show(
    link(`#/m/${code}`, t("backToProcedures"), "back"),
    el("h1", {}, loc(definition.title)),
    definition.description ? el("p", {}, loc(definition.description)) : null,
    el("dl", { class: "facts" },
      el("dt", {}, t("department")), el("dd", {}, loc(definition.department)),
      el("dt", {}, t("fee")), el("dd", {}, loc(procedure.fee_summary)),
      definition.legal_basis ? [el("dt", {}, t("legalBasis")), el("dd", {}, definition.legal_basis)] : null),
    notice(t(`identity_${definition.identity_requirement || "none"}`)),
    existing ? el("p", {}, link(`#/s/${existing.id}/step/${existing.step || 0}`, t("resumeDraft"))) : null,
    el("div", { class: "actions" }, start),
  );
}

async function startApplication(code, procedureCode) {
  const procedure = await procedureOf(code, procedureCode);
  const created = await api.createSubmission(code, procedureCode, {}, citizenToken());
  rememberDraft({
    id: created.id,
    token: created.access_token || null,
    municipality: code,
    procedure: procedureCode,
    title: procedure.definition.title,
    step: 0,
  });
  location.hash = `#/s/${created.id}/step/0`;
}

/** The card picker: the test card in development, the card app hand-off otherwise. */
function cardPanel(onLoaded) {
  if (!config.test_card_enabled) {
    return el("section", { class: "card-panel" },
      el("p", {}, t("cardAppIntro")), notice(t("cardAppUnavailable")));
  }
  const input = el("input", { type: "file", id: "test-card-files", multiple: true, accept: ".pem,.cer" });
  const status = el("p", { class: "notice", role: "status", id: "test-card-status" });
  // Files may be picked in several goes (some pickers take one file at a time).
  const picked = new Map();
  input.addEventListener("change", async () => {
    for (const file of input.files) picked.set(file.name, file);
    const missing = missingCardFiles(picked.values());
    if (missing.length) {
      status.textContent = t("testCardMissing", { files: missing.join(", ") });
      return;
    }
    try {
      await loadTestCard(picked.values());
      status.textContent = t("testCardLoaded");
      onLoaded?.();
    } catch {
      status.textContent = t("testCardInvalid");
    }
  });
  return el("section", { class: "card-panel test-card", "aria-labelledby": "test-card-title" },
    el("h2", { id: "test-card-title" }, t("testCardTitle")),
    el("p", {}, t("testCardIntro")),
    el("label", { for: "test-card-files" }, t("testCardFiles")),
    input, status);
}

async function loginPage(code, procedureCode, then) {
  const procedure = code ? await procedureOf(code, procedureCode) : null;
  const message = el("div", { "aria-live": "polite" });
  const button = el("button", { type: "button", class: "primary", id: "login-button" }, t("loginButton"));
  button.addEventListener("click", async () => {
    if (!testCard()) {
      message.replaceChildren(notice(t("needCardFirst"), "error"));
      return;
    }
    button.disabled = true;
    try {
      const challenge = await api.challenge("login");
      const proof = await signText("auth", challenge.nonce);
      const login = await api.login({ nonce: challenge.nonce, ...proof });
      sessionStorage.setItem(CITIZEN_KEY, JSON.stringify({
        token: login.access_token, expires_at: Date.now() + login.expires_in * 1000,
      }));
      message.replaceChildren(notice(t("loggedIn")));
      if (then) await then();
      else await startApplication(code, procedureCode);
    } catch (error) {
      message.replaceChildren(notice(`${t("loginFailed")} ${problemText(error)}`, "error"));
      button.disabled = false;
    }
  });
  show(
    procedure ? link(`#/m/${code}/p/${procedureCode}`, loc(procedure.definition.title), "back") : null,
    el("h1", {}, t("loginTitle")),
    el("p", {}, t("loginIntro")),
    cardPanel(),
    message,
    config.test_card_enabled ? el("div", { class: "actions" }, button) : null,
  );
}

/** Loads a submission with its token; an expired card login sends the citizen to log in. */
async function loadSubmission(id) {
  try {
    return await api.submission(id, tokenFor(id));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      loginPage(null, null, () => route());
      main.prepend(notice(t("sessionExpired"), "error"));
      return null;
    }
    if (error instanceof ApiError && error.status === 404) {
      forgetDraft(id);
      show(el("h1", {}, t("notFound")), link("#/", t("newApplication")));
      return null;
    }
    throw error;
  }
}

async function stepPage(id, index) {
  const submission = await loadSubmission(id);
  if (!submission) return;
  if (submission.status !== "draft" && submission.status !== "returned") {
    location.hash = `#/s/${id}`;
    return;
  }
  const procedure = await procedureOf(submission.municipality_code, submission.procedure_code);
  const definition = procedure.definition;
  const answers = structuredClone(submission.answers || {});
  const steps = visibleSteps(definition, answers);
  const stepIndex = Math.min(index, steps.length - 1);
  const step = steps[stepIndex];
  rememberDraft({ id, step: stepIndex });

  const view = new StepView({
    definition, schema: procedure.json_schema, step, answers,
    attachments: { submissionId: id, token: tokenFor(id) },
  });
  const summarySlot = el("div");
  const status = el("div", { "aria-live": "polite" });
  const back = el("button", { type: "button", class: "secondary" }, t("back"));
  const last = stepIndex === steps.length - 1;
  const next = el("button", { type: "submit", class: "primary" }, last ? t("toReview") : t("next"));

  const showProblems = (errors) => {
    const shown = view.showErrors(errors);
    const elsewhere = errors
      .filter((e) => !shown.some((s) => s.path === e.path))
      .map((e) => ({ ...e, label: labelOfPath(definition, e.path) }));
    const summary = errorSummary([...shown, ...elsewhere], (error) => {
      if (error.targetId) document.getElementById(error.targetId)?.focus();
      else goToErrorStep(id, definition, steps, answers, error);
    });
    summarySlot.replaceChildren(summary);
    summary.focus();
  };

  const save = async () => {
    await api.saveAnswers(id, answersToSend(definition, answers), tokenFor(id));
  };

  const form = el("form", { novalidate: true }, view.root,
    el("div", { class: "actions" }, next, stepIndex > 0 ? back : null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    next.disabled = true;
    try {
      const missing = missingRequired(definition, step, answers);
      try {
        await save();
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== "VALIDATION_FAILED") throw error;
        return showProblems([...error.fieldErrors, ...missing]);
      }
      if (missing.length) return showProblems(missing);
      pendingErrors = [];
      const after = visibleSteps(definition, answers);
      location.hash = last || stepIndex + 1 >= after.length
        ? `#/s/${id}/review` : `#/s/${id}/step/${stepIndex + 1}`;
    } catch (error) {
      status.replaceChildren(notice(`${t("genericError")} ${problemText(error)}`, "error"));
    } finally {
      next.disabled = false;
    }
  });
  back.addEventListener("click", async () => {
    try {
      await save();
    } catch {
      // Going back keeps what was typed in the page's state; errors show on Next.
    }
    location.hash = `#/s/${id}/step/${stepIndex - 1}`;
  });

  show(
    el("p", { class: "progress" }, t("stepOf", { current: stepIndex + 1, total: steps.length })),
    summarySlot,
    el("h1", {}, loc(step.title)),
    el("p", { class: "procedure-name" }, loc(definition.title)),
    step.description ? el("p", {}, loc(step.description)) : null,
    form,
    status,
  );
  const ownErrors = pendingErrors.filter((e) => stepOfPath(definition, e.path) === definition.steps.indexOf(step));
  if (ownErrors.length) showProblems(ownErrors);
}

function goToErrorStep(id, definition, steps, answers, error) {
  const stepIndex = steps.indexOf(definition.steps[stepOfPath(definition, error.path)]);
  if (stepIndex >= 0) location.hash = `#/s/${id}/step/${stepIndex}`;
}

async function reviewPage(id) {
  const submission = await loadSubmission(id);
  if (!submission) return;
  if (submission.status !== "draft" && submission.status !== "returned") {
    location.hash = `#/s/${id}`;
    return;
  }
  const procedure = await procedureOf(submission.municipality_code, submission.procedure_code);
  const definition = procedure.definition;
  const answers = submission.answers || {};
  const steps = visibleSteps(definition, answers);
  const signs = definition.identity_requirement === "jpki_sign";
  const summarySlot = el("div");
  const status = el("div", { "aria-live": "polite" });
  const submit = el("button", { type: "button", class: "primary", id: "submit-button" },
    signs ? t("signAndSubmit") : t("submit"));

  const sections = steps.map((step, index) => el("section", { class: "review-step" },
    el("h2", {}, loc(step.title)),
    el("dl", {}, step.fields.filter((field) => field.key in answers).map((field) => [
      el("dt", {}, loc(field.label)),
      el("dd", {}, displayValue(field, answers[field.key])),
    ])),
    link(`#/s/${id}/step/${index}`, `${t("edit")}（${loc(step.title)}）`)));

  submit.addEventListener("click", async () => {
    if (signs && !testCard() && config.test_card_enabled) {
      status.replaceChildren(notice(t("needCardFirst"), "error"));
      document.getElementById("test-card-files")?.focus();
      return;
    }
    submit.disabled = true;
    status.replaceChildren(notice(t("submitting")));
    try {
      let signature = null;
      if (signs && testCard()) {
        const document_ = await api.signingDocument(id, tokenFor(id));
        signature = await signText("sign", document_.document);
      }
      await api.submit(id, signature, tokenFor(id));
      pendingErrors = [];
      location.hash = `#/s/${id}/done`;
    } catch (error) {
      submit.disabled = false;
      status.replaceChildren();
      if (error instanceof ApiError && error.code === "VALIDATION_FAILED") {
        pendingErrors = error.fieldErrors;
        const errors = pendingErrors.map((e) => ({
          ...e, targetId: null, label: labelOfPath(definition, e.path),
        }));
        const summary = errorSummary(errors, (e) => goToErrorStep(id, definition, steps, answers, e));
        summarySlot.replaceChildren(summary);
        summary.focus();
        return;
      }
      status.replaceChildren(notice(`${t("submitFailed")} ${problemText(error)}`, "error"));
    }
  });

  show(
    summarySlot,
    el("h1", {}, t("reviewTitle")),
    el("p", { class: "procedure-name" }, loc(definition.title)),
    el("p", {}, t("reviewIntro")),
    ...sections,
    el("section", { class: "review-step" },
      el("h2", {}, t("feeSummary")), el("p", {}, loc(procedure.fee_summary))),
    signs ? el("p", {}, t("signingIntro")) : null,
    signs ? cardPanel() : null,
    status,
    el("div", { class: "actions" }, submit),
  );
}

function displayValue(field, value) {
  const option = (v) => loc(field.options?.find((o) => o.value === v)?.label) || v;
  switch (field.type) {
    case "select":
    case "radio":
      return option(value);
    case "multiselect":
      return value.map(option).join("、");
    case "checkbox":
    case "consent":
      return value ? t("yes") : "—";
    case "address_jp":
      return ["prefecture", "city", "town", "rest"].map((k) => value[k]).filter(Boolean).join(" ");
    case "name_with_kana":
      return `${value.name ?? ""}（${value.kana ?? ""}）`;
    case "my_number":
      return `●●●● ●●●● ${String(value).slice(-4)}`;
    case "group":
      return el("ol", {}, value.map((item) => el("li", {}, field.fields
        .filter((inner) => inner.key in item)
        .map((inner) => `${loc(inner.label)}: ${displayValue(inner, item[inner.key])}`)
        .join(" / "))));
    default:
      return String(value);
  }
}

async function donePage(id) {
  const submission = await loadSubmission(id);
  if (!submission) return;
  // Kept (with its token) for the status page; no longer listed as a draft.
  rememberDraft({ id, submitted: true });
  const procedure = await procedureOf(submission.municipality_code, submission.procedure_code);
  show(
    el("div", { class: "panel success" },
      el("h1", {}, t("receivedTitle")),
      el("p", {}, loc(procedure.definition.title)),
      el("p", { class: "reference" }, `${t("referenceNumber")}: `,
        el("strong", { id: "reference-number" }, submission.reference_number || "—")),
      el("p", {}, t("referenceNote"))),
    paymentSection(submission),
    el("p", {}, link(`#/s/${id}`, t("viewStatus"), "button-link")),
  );
}

function paymentSection(submission) {
  if (submission.status !== "awaiting_payment") return null;
  const message = el("div", { "aria-live": "polite" });
  const pay = el("button", { type: "button", class: "primary", id: "pay-button" }, t("payNow"));
  pay.addEventListener("click", async () => {
    pay.disabled = true;
    try {
      const payment = await api.startPayment(submission.id, tokenFor(submission.id));
      location.assign(payment.redirect_url);
    } catch (error) {
      pay.disabled = false;
      const unavailable = error instanceof ApiError && (error.status === 404 || error.status === 405);
      message.replaceChildren(notice(unavailable ? t("paymentUnavailable") : `${t("paymentFailed")} ${problemText(error)}`, "error"));
    }
  });
  return el("section", { class: "panel", "aria-labelledby": "payment-title" },
    el("h2", { id: "payment-title" }, t("amountDue")),
    el("p", { class: "amount" }, submission.fee ? yen(submission.fee.total) : "—"),
    submission.fee ? el("ul", {}, submission.fee.items.map((line) =>
      el("li", {}, `${loc(line.label)}: ${yen(line.amount)}`))) : null,
    message,
    el("div", { class: "actions" }, pay));
}

async function statusPage(id) {
  let submission;
  try {
    submission = await api.submission(id, tokenFor(id));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) {
      show(el("h1", {}, t("notFound")), link("#/", t("newApplication")));
      return;
    }
    throw error;
  }
  const procedure = await procedureOf(submission.municipality_code, submission.procedure_code);
  const refresh = el("button", { type: "button", class: "secondary" }, t("refresh"));
  // The payment provider sends the citizen back here with ?payment_id=…&result=….
  const result = new URLSearchParams(location.search).get("result");
  if (location.search) history.replaceState(null, "", location.pathname + location.hash);
  refresh.addEventListener("click", () => statusPage(id));
  show(
    el("h1", {}, t("statusTitle")),
    result === "success" ? notice(t("paymentReturned")) : null,
    result === "cancel" ? notice(t("paymentFailed"), "error") : null,
    el("dl", { class: "facts" },
      el("dt", {}, t("procedure")), el("dd", {}, loc(procedure.definition.title)),
      el("dt", {}, t("referenceNumber")),
      el("dd", { id: "status-reference" }, submission.reference_number || "—"),
      el("dt", {}, t("currentStatus")),
      el("dd", { id: "current-status" }, t(`status_${submission.status}`)),
      submission.submitted_at ? [el("dt", {}, t("submittedAt")), el("dd", {}, dateTime(submission.submitted_at))] : null),
    paymentSection(submission),
    el("h2", {}, t("timeline")),
    el("ol", { class: "timeline", id: "timeline" }, submission.timeline.map((entry) =>
      el("li", {},
        el("span", { class: "when" }, dateTime(entry.at)),
        el("span", { class: "what" }, t(`status_${entry.to}`)),
        el("span", { class: "who" }, `（${t(`by_${entry.actor_kind}`)}）`),
        entry.comment ? el("p", { class: "comment" }, entry.comment) : null))),
    el("div", { class: "actions" }, refresh),
    el("p", {}, link("#/", t("newApplication"))),
  );
}

// ---- routing

const ROUTES = [
  [/^#\/?$/, () => municipalitiesPage()],
  [/^#\/m\/(\d{6})$/, (code) => proceduresPage(code)],
  [/^#\/m\/(\d{6})\/p\/([a-z0-9_-]+)$/, (code, p) => procedurePage(code, p)],
  [/^#\/m\/(\d{6})\/p\/([a-z0-9_-]+)\/login$/, (code, p) => loginPage(code, p)],
  [/^#\/s\/([0-9a-f-]{36})\/step\/(\d+)$/, (id, n) => stepPage(id, Number(n))],
  [/^#\/s\/([0-9a-f-]{36})\/review$/, (id) => reviewPage(id)],
  [/^#\/s\/([0-9a-f-]{36})\/done$/, (id) => donePage(id)],
  [/^#\/s\/([0-9a-f-]{36})$/, (id) => statusPage(id)],
];

async function route() {
  const hash = location.hash || "#/";
  if (!hash.startsWith("#/") && hash !== "#") return;
  for (const [pattern, handler] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    try {
      await handler(...match.slice(1));
    } catch (error) {
      show(el("h1", {}, t("genericError")), el("p", {}, problemText(error)), link("#/", t("newApplication")));
    }
    return;
  }
  location.hash = "#/";
}

function problemText(error) {
  if (!(error instanceof ApiError)) return "";
  const problem = error.problem;
  return (lang() === "ja" ? problem.detail_ja : problem.detail) || problem.detail || "";
}

async function boot() {
  try {
    config = await api.clientConfig();
  } catch {
    // Without the config, offer nothing development-only.
  }
  document.getElementById("lang-switch").addEventListener("click", () => {
    setLang(lang() === "ja" ? "en" : "ja");
    renderChrome();
    route();
  });
  renderChrome();
  window.addEventListener("hashchange", route);
  await route();
}

boot();
