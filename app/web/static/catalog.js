// The catalog: municipalities, their procedures (search and categories), and what a
// procedure needs before it is started (what to prepare, how long, the fee, how the
// result arrives, how personal data is handled).

import { api } from "./api.js";
import { el } from "./dom.js";
import { allFields } from "./form.js";
import { loc, t } from "./i18n.js";
import { loginPage } from "./login.js";
import { waitingApplications } from "./mypage.js";
import { citizenToken, deviceApplications, rememberApplication } from "./store.js";
import { link, notice, problemText, show } from "./ui.js";

const procedureCache = new Map();

export async function procedureOf(code, procedureCode) {
  const key = `${code}/${procedureCode}`;
  if (!procedureCache.has(key)) procedureCache.set(key, await api.procedure(code, procedureCode));
  return procedureCache.get(key);
}

let municipalitiesCache = null;

export async function municipalities() {
  municipalitiesCache ||= (await api.municipalities()).items;
  return municipalitiesCache;
}

export async function municipalitiesPage() {
  const [list, waiting] = await Promise.all([municipalities(), waitingApplications()]);
  const inProgress = Object.values(deviceApplications()).length;
  show(
    el("h1", {}, t("chooseMunicipality")),
    waiting,
    el("ul", { class: "choices" }, list.map((m) =>
      el("li", {}, link(`#/m/${m.code}`, loc(m.name)), el("span", { class: "meta" }, m.prefecture)))),
    el("section", { class: "panel", "aria-labelledby": "my-title" },
      el("h2", { id: "my-title" }, t("myPageTitle")),
      el("p", {}, inProgress ? t("myPageHasItems", { count: inProgress }) : t("myPageIntro")),
      link("#/me", t("openMyPage"))),
  );
}

/** Procedures grouped by category (担当課), with a search box over titles. */
export async function proceduresPage(code) {
  const [list, procedures] = await Promise.all([municipalities(), api.procedures(code)]);
  const municipality = list.find((m) => m.code === code);
  const name = municipality ? loc(municipality.name) : code;
  const categories = [...new Set(procedures.items.map((p) => loc(p.department)))];
  const search = el("input", { type: "search", id: "procedure-search", autocomplete: "off" });
  const category = el("select", { id: "procedure-category" },
    el("option", { value: "" }, t("allCategories")),
    ...categories.map((c) => el("option", { value: c }, c)));
  const count = el("p", { class: "result-count", role: "status", id: "procedure-count" });
  const groups = categories.map((c) => {
    const items = procedures.items.filter((p) => loc(p.department) === c).map((p) => {
      const item = el("li", {}, link(`#/m/${code}/p/${p.code}`, loc(p.title)),
        el("span", { class: "meta" }, `${loc(p.fee_summary)}・${t(`identityShort_${p.identity_requirement}`)}`));
      item.dataset.search = [loc(p.title), p.title.ja, p.title.en, c].join(" ").normalize("NFKC").toLowerCase();
      return item;
    });
    const headingId = `category-${categories.indexOf(c)}`;
    const section = el("section", { class: "category", "aria-labelledby": headingId },
      el("h2", { id: headingId }, c), el("ul", { class: "choices procedures" }, items));
    section.dataset.category = c;
    return section;
  });
  const filter = () => {
    const words = search.value.normalize("NFKC").toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const group of groups) {
      let inGroup = 0;
      for (const item of group.querySelectorAll("li")) {
        const visible = (!category.value || group.dataset.category === category.value)
          && words.every((word) => item.dataset.search.includes(word));
        item.hidden = !visible;
        inGroup += visible ? 1 : 0;
      }
      group.hidden = inGroup === 0;
      shown += inGroup;
    }
    count.textContent = shown ? t("proceduresFound", { count: shown }) : t("noProcedureFound");
  };
  search.addEventListener("input", filter);
  category.addEventListener("change", filter);
  filter();
  show(
    link("#/", t("backToMunicipalities"), "back"),
    el("h1", {}, t("municipalityProcedures", { municipality: name })),
    el("form", { class: "procedure-filter", role: "search", "aria-label": t("searchLandmark") },
      el("div", { class: "field" }, el("label", { for: "procedure-search" }, t("searchProcedures")), search),
      el("div", { class: "field" }, el("label", { for: "procedure-category" }, t("category")), category)),
    count,
    groups,
  );
}

/** What to prepare, derived from the definition: the card and its passwords, the
 * documents (file fields), the 個人番号 where the law uses it, an email for news. */
function preparations(definition, procedure) {
  const items = [];
  const identity = definition.identity_requirement || "none";
  const fields = allFields(definition);
  if (identity !== "none") {
    items.push(t("prepareCard"), t("prepareLoginPin"));
    items.push(t("prepareSmartphone"));
  }
  if (identity === "jpki_sign") items.push(t("prepareSigningPassword"));
  if (definition.my_number_use) items.push(t("prepareMyNumber"));
  const documents = fields.flatMap((field) => (field.type === "group" ? field.fields : [field]))
    .filter((field) => field.type === "file");
  for (const field of documents) items.push(t("prepareDocument", { document: loc(field.label) }));
  if (fields.some((field) => field.type === "email")) items.push(t("prepareEmail"));
  if (procedure.definition.fee_rules?.length) items.push(t("preparePayment"));
  return items;
}

/** About half a minute per question, and the card's reading and passwords on top. */
function estimatedMinutes(definition) {
  const questions = allFields(definition)
    .reduce((sum, field) => sum + (field.type === "group" ? field.fields.length : 1), 0);
  const card = (definition.identity_requirement || "none") === "none" ? 0 : 3;
  return Math.max(3, Math.ceil(questions / 2) + card);
}

function paymentText(definition) {
  if (!definition.fee_rules?.length) return t("noFee");
  return definition.payment_timing === "after_review" ? t("payAfterReview") : t("payOnSubmit");
}

function resultText(definition) {
  const byEmail = allFields(definition).some((field) => field.type === "email");
  return byEmail ? `${t("resultOnline")} ${t("resultByEmail")}` : t("resultOnline");
}

export async function procedurePage(code, procedureCode) {
  const procedure = await procedureOf(code, procedureCode);
  const definition = procedure.definition;
  const needsCard = definition.identity_requirement && definition.identity_requirement !== "none";
  const message = el("div", { "aria-live": "polite" });
  const start = el("button", { type: "button", class: "primary", id: "start-button" }, t("start"));
  // One key for this page's start: a double tap or a retry gets the same draft back.
  const idempotencyKey = crypto.randomUUID();
  start.addEventListener("click", async () => {
    if (start.disabled) return;
    if (needsCard && !citizenToken()) {
      location.hash = `#/m/${code}/p/${procedureCode}/login`;
      return;
    }
    start.disabled = true;
    try {
      await startApplication(code, procedureCode, idempotencyKey);
    } catch (error) {
      start.disabled = false;
      message.replaceChildren(notice(`${t("genericError")} ${problemText(error)}`, "error"));
    }
  });
  const existing = Object.values(deviceApplications()).find((d) =>
    d.status === "draft" && d.municipality === code && d.procedure === procedureCode);
  show(
    link(`#/m/${code}`, t("backToProcedures"), "back"),
    el("h1", {}, loc(definition.title)),
    definition.description ? el("p", {}, loc(definition.description)) : null,
    notice(t(`identity_${definition.identity_requirement || "none"}`)),
    el("section", { "aria-labelledby": "prepare-title" },
      el("h2", { id: "prepare-title" }, t("prepareTitle")),
      el("ul", { class: "checklist" }, preparations(definition, procedure).map((item) => el("li", {}, item)))),
    el("dl", { class: "facts" },
      el("dt", {}, t("duration")), el("dd", {}, t("durationMinutes", { minutes: estimatedMinutes(definition) })),
      el("dt", {}, t("fee")), el("dd", {}, loc(procedure.fee_summary) || t("noFee")),
      el("dt", {}, t("payment")), el("dd", {}, paymentText(definition)),
      el("dt", {}, t("result")), el("dd", {}, resultText(definition)),
      el("dt", {}, t("department")), el("dd", {}, loc(definition.department)),
      definition.legal_basis ? [el("dt", {}, t("legalBasis")), el("dd", {}, definition.legal_basis)] : null),
    el("p", { class: "privacy-note" }, t("privacyShort", { department: loc(definition.department) }), " ",
      link("#/privacy", t("privacyTitle"))),
    existing ? el("p", {}, link(`#/s/${existing.id}/step/${existing.step || 0}`, t("resumeDraft"))) : null,
    message,
    el("div", { class: "actions" }, start),
  );
}

/** The card login asked before a procedure that needs it; the draft starts after it. */
export async function procedureLoginPage(code, procedureCode) {
  const procedure = await procedureOf(code, procedureCode);
  const idempotencyKey = crypto.randomUUID();
  await loginPage({
    back: link(`#/m/${code}/p/${procedureCode}`, loc(procedure.definition.title), "back"),
    then: () => startApplication(code, procedureCode, idempotencyKey),
  });
}

export async function startApplication(code, procedureCode, idempotencyKey) {
  const procedure = await procedureOf(code, procedureCode);
  const created = await api.createSubmission(code, procedureCode, {}, citizenToken(), idempotencyKey);
  rememberApplication({
    id: created.id,
    token: created.access_token || null,
    municipality: code,
    procedure: procedureCode,
    title: procedure.definition.title,
    status: created.status,
    created_at: created.created_at,
    step: 0,
  });
  location.hash = `#/s/${created.id}/step/0`;
}
