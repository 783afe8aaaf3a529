// Renders any procedure from its catalog definition: one step per page, conditional
// fields, repeating groups, and the server's validation errors by JSON Pointer.

import { renderFileField } from "./attachments.js";
import { holds, isAnswered, itemVisibility, topLevelVisibility } from "./conditions.js";
import {
  ERAS, describeBound, eraYearOf, formatDate, parseDate, todayInJapan, warekiParts,
} from "./dates.js";
import { lang, loc, t } from "./i18n.js";
import { el } from "./dom.js";

const PREFECTURES_FALLBACK = [];

/** The answers as the server's conditions see them: numbers typed as text become numbers. */
export function canonical(definition, answers) {
  const result = {};
  for (const field of allFields(definition)) {
    if (!(field.key in answers)) continue;
    result[field.key] = canonicalValue(field, answers[field.key]);
  }
  return result;
}

function canonicalValue(field, value) {
  if (field.type === "integer" || field.type === "number") {
    if (typeof value !== "string") return value;
    const text = value.normalize("NFKC").trim();
    const pattern = field.type === "integer" ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/;
    return pattern.test(text) ? Number(text) : value;
  }
  if (field.type === "group" && Array.isArray(value)) {
    return value.map((item) => {
      const out = {};
      for (const inner of field.fields) {
        if (inner.key in item) out[inner.key] = canonicalValue(inner, item[inner.key]);
      }
      return out;
    });
  }
  return value;
}

/** What is sent to the server: hidden fields and empty answers dropped, as it would. */
export function answersToSend(definition, answers) {
  const values = canonical(definition, answers);
  const visible = topLevelVisibility(definition, values);
  const result = {};
  for (const field of allFields(definition)) {
    if (!visible[field.key] || !isAnswered(values[field.key])) continue;
    let value = values[field.key];
    if (field.type === "group") {
      value = value.map((item) => {
        const shown = itemVisibility(field, item);
        return Object.fromEntries(
          Object.entries(item).filter(([key, inner]) => shown[key] && isAnswered(inner)),
        );
      });
    } else if (value && typeof value === "object" && !Array.isArray(value)) {
      value = Object.fromEntries(Object.entries(value).filter(([, part]) => isAnswered(part)));
    }
    result[field.key] = value;
  }
  return result;
}

export function allFields(definition) {
  return definition.steps.flatMap((step) => step.fields);
}

/** The fields the card fills for these answers: a `prefill` whose `prefill_when` holds
 * (app/forms/conditions.py `card_filled_fields`); with `shownOnly`, those shown too. */
export function cardFilledFields(definition, answers, { shownOnly = false } = {}) {
  const values = canonical(definition, answers);
  const visible = topLevelVisibility(definition, values);
  return allFields(definition).filter((field) => field.prefill
    && holds(field.prefill_when, values, visible) && (!shownOnly || visible[field.key]));
}

/** Steps shown for these answers (a step's `when` may hide it). */
export function visibleSteps(definition, answers) {
  const values = canonical(definition, answers);
  const visible = {};
  const steps = [];
  for (const step of definition.steps) {
    const shown = holds(step.when, values, visible);
    for (const field of step.fields) visible[field.key] = shown && holds(field.when, values, visible);
    if (shown) steps.push(step);
  }
  return steps;
}

/** The step holding the field an error path points to. */
export function stepOfPath(definition, path) {
  const key = path.split("/")[1];
  return definition.steps.findIndex((step) => step.fields.some((field) => field.key === key));
}

/** Client-side "required" check of one step, mirroring the server's rule. */
export function missingRequired(definition, step, answers) {
  const values = canonical(definition, answers);
  const visible = topLevelVisibility(definition, values);
  const errors = [];
  const missing = (path, consent = false) =>
    errors.push({
      path,
      code: consent ? "consent" : "required",
      message_ja: consent ? "同意いただけない場合は申請できません" : "必須項目です",
      message_en: consent ? "You must agree to continue" : "This field is required",
    });
  for (const field of step.fields) {
    if (!visible[field.key]) continue;
    const value = values[field.key];
    if (field.required && field.type === "consent" && value !== true) missing(`/${field.key}`, true);
    else if (field.required && !isAnswered(value)) missing(`/${field.key}`);
    if (field.type === "group" && Array.isArray(value)) {
      value.forEach((item, index) => {
        const shown = itemVisibility(field, item);
        for (const inner of field.fields) {
          if (inner.required && shown[inner.key] && !isAnswered(item[inner.key])) {
            missing(`/${field.key}/${index}/${inner.key}`);
          }
        }
      });
    }
  }
  return errors;
}

/** Dates the server would refuse, checked as the citizen goes: the format (和暦 is fine)
 * and the bounds the served JSON Schema states (`formatMinimum` / `formatMaximum`, which
 * the server computes from relative bounds such as `today`). */
export function dateProblems(definition, schema, step, answers) {
  const values = canonical(definition, answers);
  const visible = topLevelVisibility(definition, values);
  const problems = [];
  const check = (field, path, value) => {
    if (!isAnswered(value)) return;
    const problem = dateProblem(value, dateBoundsAt(schema, path));
    if (problem) problems.push({ path, ...problem });
  };
  for (const field of step.fields) {
    if (!visible[field.key]) continue;
    if (field.type === "date") check(field, `/${field.key}`, values[field.key]);
    if (field.type === "group" && Array.isArray(values[field.key])) {
      values[field.key].forEach((item, index) => {
        const shown = itemVisibility(field, item);
        for (const inner of field.fields) {
          if (inner.type === "date" && shown[inner.key]) {
            check(inner, `/${field.key}/${index}/${inner.key}`, item[inner.key]);
          }
        }
      });
    }
  }
  return problems;
}

function dateProblem(value, bounds) {
  const parsed = parseDate(value);
  if (!parsed) return null;
  if (parsed.error === "not_in_era") {
    return { code: "date", message_ja: "その元号にその日付はありません。年を確認してください", message_en: "That date is not in that era: check the year" };
  }
  if (parsed.error) {
    return {
      code: "date",
      message_ja: "日付を正しく入力してください（例: 2026-12-01、令和8年12月1日）",
      message_en: "Enter a real date (e.g. 2026-12-01 or Reiwa 8/12/1)",
    };
  }
  const messages = (key, bound) => ({
    code: key === "min" ? "date_minimum" : "date_maximum",
    message_ja: t(key === "min" ? "dateOnOrAfter" : "dateOnOrBefore", { bound: describeIn("ja", bound) }),
    message_en: t(key === "min" ? "dateOnOrAfter" : "dateOnOrBefore", { bound: describeIn("en", bound) }, "en"),
  });
  if (bounds.minimum && parsed.iso < bounds.minimum) return messages("min", bounds.minimum);
  if (bounds.maximum && parsed.iso > bounds.maximum) return messages("max", bounds.maximum);
  return null;
}

function describeIn(language, iso) {
  return describeBound(iso, todayInJapan(), language);
}


/** The JSON Schema node of an answer path (/key, /group/0/key, /address/city). */
export function schemaAt(schema, path) {
  let node = schema;
  for (const segment of path.split("/").slice(1)) {
    if (!node) return null;
    node = /^\d+$/.test(segment) ? node.items : node.properties?.[segment];
  }
  return node || null;
}

/** The bounds the server enforces on a date answer, as concrete dates. */
export function dateBoundsAt(schema, path) {
  const node = schemaAt(schema, path.replace(/\/\d+\//g, "/0/")) || {};
  return { minimum: node.formatMinimum || null, maximum: node.formatMaximum || null };
}

// ---- JSON Pointers into the answers (the paths of the server's errors)

export function pointerGet(object, pointer) {
  let node = object;
  for (const segment of pointer.split("/").slice(1)) {
    if (node == null || typeof node !== "object") return undefined;
    node = node[segment];
  }
  return node;
}

export function pointerSet(object, pointer, value) {
  const segments = pointer.split("/").slice(1);
  let node = object;
  segments.slice(0, -1).forEach((segment, index) => {
    if (node[segment] == null || typeof node[segment] !== "object") {
      node[segment] = /^\d+$/.test(segments[index + 1]) ? [] : {};
    }
    node = node[segment];
  });
  node[segments.at(-1)] = value;
}

export function pointerDelete(object, pointer) {
  const segments = pointer.split("/").slice(1);
  const parent = segments.length === 1 ? object : pointerGet(object, `/${segments.slice(0, -1).join("/")}`);
  if (Array.isArray(parent)) parent[Number(segments.at(-1))] = {};
  else if (parent && typeof parent === "object") delete parent[segments.at(-1)];
}

export function errorMessage(error) {
  return loc({ ja: error.message_ja, en: error.message_en });
}

/** The label of the top-level field an error path points into. */
export function labelOfPath(definition, path) {
  const key = path.split("/")[1];
  return loc(allFields(definition).find((field) => field.key === key)?.label);
}

export function pathId(prefix, path) {
  return prefix + path.replace(/[^a-zA-Z0-9_]/g, "-");
}

/** One step of the form, kept in sync with `answers` as the citizen types. */
export class StepView {
  constructor({ definition, schema, step, answers, onChange, fromCard = [], attachments }) {
    this.definition = definition;
    this.attachments = attachments; // {submissionId, token}: where file fields upload
    this.schema = schema || {};
    // Answers filled from the My Number card and not changed since (marked as such).
    this.fromCard = new Set(fromCard);
    this.prefectures = schema?.$defs?.prefecture?.enum
      || findPrefectures(schema) || PREFECTURES_FALLBACK;
    this.step = step;
    this.answers = answers;
    this.onChange = onChange;
    this.root = el("div", { class: "step-fields" });
    for (const field of step.fields) this.root.append(this.renderField(field));
    this.refreshVisibility();
  }

  changed() {
    this.refreshVisibility();
    this.onChange?.();
  }

  refreshVisibility() {
    const visible = topLevelVisibility(this.definition, canonical(this.definition, this.answers));
    for (const node of this.root.querySelectorAll(":scope > [data-field]")) {
      node.hidden = !visible[node.dataset.field];
    }
    for (const node of this.root.querySelectorAll("[data-group-item]")) {
      const field = this.definition.steps
        .flatMap((step) => step.fields)
        .find((candidate) => candidate.key === node.dataset.groupItem);
      const item = canonical(this.definition, { [field.key]: this.answers[field.key] })[field.key];
      const shown = itemVisibility(field, item[Number(node.dataset.index)] || {});
      for (const inner of node.querySelectorAll("[data-inner-field]")) {
        inner.hidden = !shown[inner.dataset.innerField];
      }
    }
  }

  renderField(field) {
    const node = this.renderControl(field, `/${field.key}`, this.answers, field.key);
    node.dataset.field = field.key;
    if (this.fromCard.has(field.key)) {
      const caption = node.querySelector(":scope > label, :scope > legend, :scope > .choice > label");
      caption?.append(" ", el("span", { class: "tag from-card", "data-from-card": field.key }, t("fromCard")));
      // Changed by the citizen: no longer what the card says. The card gives only the
      // 氏名 of a name with フリガナ; typing the フリガナ keeps the mark.
      const changed = (event) => {
        if (field.type === "name_with_kana" && !event.target.name?.endsWith("/name")) return;
        this.dropCardMark(node, field.key);
      };
      node.addEventListener("input", changed);
      node.addEventListener("change", changed);
    }
    return node;
  }

  dropCardMark(node, key) {
    this.fromCard.delete(key);
    node.querySelector("[data-from-card]")?.remove();
  }

  /** A field at `path`, reading and writing `container[key]`; labelled for the summary. */
  renderControl(field, path, container, key) {
    const node = this.buildControl(field, path, container, key);
    node.dataset.label = loc(field.label);
    return node;
  }

  buildControl(field, path, container, key) {
    const id = pathId("f", path);
    const label = loc(field.label);
    const mark = el("span", { class: field.required ? "tag required" : "tag" },
      field.required ? t("required") : t("optional"));
    const help = field.help ? el("p", { class: "help", id: pathId("h", path) }, loc(field.help)) : null;
    const error = el("p", { class: "field-error", id: pathId("e", path), hidden: true });
    const describedBy = [help && help.id].filter(Boolean).join(" ");
    const set = (value) => {
      container[key] = value;
      this.changed();
    };
    const value = container[key];

    const textInput = (attrs) => {
      const input = el("input", {
        ...attrs, id, name: path, value: value ?? "", "aria-describedby": describedBy || null,
      });
      input.addEventListener("input", () => set(input.value));
      return input;
    };

    switch (field.type) {
      case "text":
      case "email":
      case "phone_jp":
      case "postal_code_jp":
      case "integer":
      case "number":
      case "my_number":
      case "textarea": {
        const attrs = INPUT_ATTRIBUTES[field.type] || { type: "text" };
        let input;
        if (field.type === "textarea") {
          input = el("textarea", { id, name: path, rows: 4, "aria-describedby": describedBy || null });
          input.value = value ?? "";
          input.addEventListener("input", () => set(input.value));
        } else {
          input = textInput(attrs);
        }
        return el("div", { class: "field", "data-path": path },
          el("label", { for: id }, label, " ", mark), help, error, input);
      }
      case "date":
        return isBirthDate(field)
          ? this.birthDateControl(field, path, { id, label, mark, help, error, set, value })
          : this.dateControl(field, path, { id, label, mark, help, error, set, value, describedBy });
      case "select": {
        const select = el("select", { id, name: path, "aria-describedby": describedBy || null },
          el("option", { value: "" }, t("chooseOption")),
          ...field.options.map((option) =>
            el("option", { value: option.value, selected: option.value === value }, loc(option.label))));
        select.addEventListener("change", () => set(select.value));
        return el("div", { class: "field", "data-path": path },
          el("label", { for: id }, label, " ", mark), help, error, select);
      }
      case "radio":
      case "multiselect": {
        const multiple = field.type === "multiselect";
        const choices = field.options.map((option, index) => {
          const optionId = `${id}-${index}`;
          const checked = multiple ? (value || []).includes(option.value) : value === option.value;
          const input = el("input", {
            type: multiple ? "checkbox" : "radio", id: optionId, name: path,
            value: option.value, checked,
          });
          input.addEventListener("change", () => {
            if (!multiple) return set(option.value);
            const selected = new Set(container[key] || []);
            if (input.checked) selected.add(option.value);
            else selected.delete(option.value);
            // Keep the options' order, as the server does.
            set(field.options.map((o) => o.value).filter((v) => selected.has(v)));
          });
          return el("div", { class: "choice" }, input, el("label", { for: optionId }, loc(option.label)));
        });
        return el("fieldset", {
          class: "field", "data-path": path, "aria-describedby": describedBy || null, id: `${id}-group`,
        }, el("legend", {}, label, " ", mark), help, error, ...choices);
      }
      case "checkbox":
      case "consent": {
        const input = el("input", {
          type: "checkbox", id, name: path, checked: value === true,
          "aria-describedby": describedBy || null,
        });
        input.addEventListener("change", () => {
          set(input.checked ? true : field.type === "checkbox" ? false : undefined);
        });
        return el("div", { class: "field", "data-path": path },
          help, error,
          el("div", { class: "choice" }, input, el("label", { for: id }, label, " ", mark)));
      }
      case "address_jp":
      case "name_with_kana": {
        const object = (container[key] = { ...(value || {}) });
        const parts = field.type === "address_jp"
          ? ["prefecture", "city", "town", "rest"]
          : ["name", "kana"];
        const controls = parts.map((part) => {
          const partPath = `${path}/${part}`;
          const partId = pathId("f", partPath);
          const partError = el("p", { class: "field-error", id: pathId("e", partPath), hidden: true });
          let input;
          if (part === "prefecture") {
            input = el("select", { id: partId, name: partPath, autocomplete: "address-level1" },
              el("option", { value: "" }, t("chooseOption")),
              ...this.prefectures.map((name) =>
                el("option", { value: name, selected: name === object[part] }, name)));
            input.addEventListener("change", () => { object[part] = input.value; this.changed(); });
          } else {
            input = el("input", {
              id: partId, name: partPath, type: "text", value: object[part] ?? "",
              ...PART_ATTRIBUTES[part],
            });
            input.addEventListener("input", () => { object[part] = input.value; this.changed(); });
          }
          return el("div", { class: "field part", "data-path": partPath, "data-label": `${label} ${t(part)}` },
            el("label", { for: partId }, t(part)), partError, input);
        });
        return el("fieldset", { class: "field", "data-path": path, id: `${id}-group` },
          el("legend", {}, label, " ", mark), help, error, ...controls);
      }
      case "file":
        return renderFileField(field, {
          path, id, value, set, context: this.attachments, label, mark, help, error,
        });
      case "group":
        return this.renderGroup(field, path, container, key, { label, mark, help, error, id });
      default:
        return el("div", { class: "field", "data-path": path },
          el("label", { for: id }, label), textInput({ type: "text" }));
    }
  }

  /** A date typed as the citizen writes it (2026-12-01, 令和8年12月1日, 20261201); the
   * date understood is echoed below, and the answer is ISO once it is a real date. */
  dateControl(field, path, { id, label, mark, help, error, set, value, describedBy }) {
    const bounds = this.boundsHint(path);
    const echo = el("p", { class: "date-echo", id: pathId("d", path), "aria-live": "polite" });
    const input = el("input", {
      type: "text", id, name: path, value: value ?? "", autocomplete: "off",
      placeholder: t("datePlaceholder"),
      "aria-describedby": [describedBy, bounds?.id, pathId("x", path), echo.id].filter(Boolean).join(" "),
    });
    const example = el("p", { class: "help", id: pathId("x", path) }, t("dateExample"));
    const update = () => {
      const parsed = parseDate(input.value);
      echo.textContent = parsed?.iso ? `${t("dateUnderstood")} ${formatDate(parsed.iso)}` : "";
      set(parsed?.iso || (input.value.trim() ? input.value : undefined));
    };
    input.addEventListener("input", update);
    const parsed = parseDate(value);
    if (parsed?.iso && parsed.iso !== value) echo.textContent = `${t("dateUnderstood")} ${formatDate(parsed.iso)}`;
    return el("div", { class: "field", "data-path": path },
      el("label", { for: id }, label, " ", mark), help, bounds, example, error, input, echo);
  }

  /** 生年月日: 元号 + 年 + 月 + 日 as on paper, with the 西暦 shown (or the 和暦 when the
   * year is given in 西暦). The answer is ISO once the parts make a real date. */
  birthDateControl(field, path, { id, label, mark, help, error, set, value }) {
    const parts = splitDate(value);
    const bounds = this.boundsHint(path);
    const echo = el("p", { class: "date-echo", id: pathId("d", path), "aria-live": "polite" });
    const era = el("select", { id: `${id}-era`, name: `${path}#era`, autocomplete: "off" },
      el("option", { value: "" }, t("chooseOption")),
      ...ERAS.map((e) => el("option", { value: e.key, selected: parts.era === e.key }, lang() === "en" ? e.en : e.ja)),
      el("option", { value: "western", selected: parts.era === "western" }, t("westernCalendar")));
    const number = (part, size, text) => el("input", {
      type: "text", inputmode: "numeric", id: `${id}-${part}`, name: `${path}#${part}`,
      value: parts[part] ?? "", maxlength: size, autocomplete: "off", class: `date-part ${part}`,
      "aria-describedby": echo.id,
    });
    const year = number("year", 4);
    const month = number("month", 2);
    const day = number("day", 2);
    const update = () => {
      const typed = {
        era: era.value,
        year: year.value.normalize("NFKC").trim(),
        month: month.value.normalize("NFKC").trim(),
        day: day.value.normalize("NFKC").trim(),
      };
      if (!typed.era && !typed.year && !typed.month && !typed.day) {
        echo.textContent = "";
        return set(undefined);
      }
      const text = joinDate(typed);
      const parsed = parseDate(text);
      echo.textContent = parsed?.iso ? birthEcho(parsed.iso, typed.era) : "";
      set(parsed?.iso || text);
    };
    for (const control of [era, year, month, day]) {
      control.addEventListener(control === era ? "change" : "input", update);
    }
    const parsed = parseDate(value);
    if (parsed?.iso) echo.textContent = birthEcho(parsed.iso, parts.era);
    const labelled = (control, text) => el("div", { class: "date-part-field" },
      el("label", { for: control.id }, text), control);
    return el("fieldset", { class: "field", "data-path": path, id: `${id}-group` },
      el("legend", {}, label, " ", mark), help, bounds, error,
      el("div", { class: "date-parts" },
        labelled(era, t("era")), labelled(year, t("year")),
        labelled(month, t("month")), labelled(day, t("day"))),
      echo);
  }

  /** "今日以前の日付" under a date field whose schema bounds it (null when unbounded). */
  boundsHint(path) {
    const { minimum, maximum } = dateBoundsAt(this.schema, path);
    if (!minimum && !maximum) return null;
    const today = todayInJapan();
    let text;
    if (minimum && maximum) {
      text = t("dateBetween", { from: describeBound(minimum, today), to: describeBound(maximum, today) });
    } else if (minimum) {
      text = t("dateOnOrAfter", { bound: describeBound(minimum, today) });
    } else {
      text = t("dateOnOrBefore", { bound: describeBound(maximum, today) });
    }
    return el("p", { class: "help bounds", id: pathId("b", path) }, text);
  }

  renderGroup(field, path, container, key, { label, mark, help, error, id }) {
    const items = (container[key] = Array.isArray(container[key]) ? container[key] : []);
    const itemLabel = loc(field.item_label) || label;
    const list = el("div", { class: "group-items" });
    const add = el("button", { type: "button", class: "secondary", id: `${id}-add` },
      t("addItem", { item: itemLabel }));
    const max = field.max_items ?? 20;
    const redraw = () => {
      list.replaceChildren(...items.map((item, index) => {
        const itemPath = `${path}/${index}`;
        const remove = el("button", { type: "button", class: "link-button" },
          t("removeItem", { item: itemLabel }));
        remove.addEventListener("click", () => {
          items.splice(index, 1);
          redraw();
          this.changed();
          add.focus();
        });
        const inner = field.fields.map((innerField) => {
          const node = this.renderControl(innerField, `${itemPath}/${innerField.key}`, item, innerField.key);
          node.dataset.innerField = innerField.key;
          return node;
        });
        return el("fieldset", {
          class: "group-item", "data-path": itemPath, "data-group-item": field.key, "data-index": index,
        }, el("legend", {}, t("itemNumber", { item: itemLabel, number: index + 1 })), ...inner, remove);
      }));
      add.hidden = items.length >= max;
    };
    add.addEventListener("click", () => {
      items.push({});
      redraw();
      this.changed();
      list.lastElementChild?.querySelector("input, select, textarea")?.focus();
    });
    redraw();
    return el("fieldset", { class: "field group", "data-path": path, id: `${id}-group` },
      el("legend", {}, label, " ", mark), help, error, list, add);
  }

  /** Show errors next to their fields; returns those shown on this step. */
  showErrors(errors) {
    for (const node of this.root.querySelectorAll(".field-error")) {
      node.hidden = true;
      node.textContent = "";
    }
    for (const node of this.root.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    for (const node of this.root.querySelectorAll(".invalid")) node.classList.remove("invalid");
    const shown = [];
    for (const error of errors) {
      const target = this.targetOf(error.path);
      if (!target) continue;
      const message = target.querySelector(":scope > .field-error, :scope > .choice + .field-error")
        || target.querySelector(".field-error");
      message.hidden = false;
      message.textContent = message.textContent
        ? `${message.textContent} ${errorMessage(error)}` : errorMessage(error);
      target.classList.add("invalid");
      const control = this.focusTarget(target);
      if (control) {
        if (control.tagName !== "BUTTON") control.setAttribute("aria-invalid", "true");
        const ids = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
        ids.add(message.id);
        control.setAttribute("aria-describedby", [...ids].join(" "));
      }
      shown.push({ ...error, targetId: control?.id, label: target.dataset.label });
    }
    return shown;
  }

  targetOf(path) {
    const segments = path.split("/");
    while (segments.length > 1) {
      const candidate = this.root.querySelector(`[data-path="${CSS.escape(segments.join("/"))}"]`);
      if (candidate && !candidate.closest("[hidden]")) return candidate;
      segments.pop();
    }
    return null;
  }

  focusTarget(target) {
    // An empty repeating group has no input yet: its "add" button is where to go.
    return target.querySelector("input, select, textarea") || target.querySelector("button");
  }
}

const INPUT_ATTRIBUTES = {
  text: { type: "text" },
  email: { type: "email", autocomplete: "email", inputmode: "email" },
  phone_jp: { type: "tel", autocomplete: "tel", inputmode: "tel" },
  postal_code_jp: { type: "text", autocomplete: "postal-code", inputmode: "numeric" },
  integer: { type: "text", inputmode: "numeric" },
  number: { type: "text", inputmode: "decimal" },
  my_number: { type: "text", inputmode: "numeric", autocomplete: "off" },
};

const PART_ATTRIBUTES = {
  city: { autocomplete: "address-level2" },
  town: { autocomplete: "address-level3" },
  rest: { autocomplete: "address-line1" },
  name: { autocomplete: "name" },
  kana: { autocomplete: "off" },
};

/** A birth date gets the 元号 entry: mapped to the card's birth date, or named so. */
export function isBirthDate(field) {
  return field.prefill === "birth_date" || /(^|_)birth_date$/.test(field.key);
}

/** {era, year, month, day} of a stored value: an ISO date, or what was typed before. */
function splitDate(value) {
  if (!value) return {};
  const parsed = parseDate(value);
  if (parsed?.iso) {
    const { era, eraYear, year, month, day } = warekiParts(parsed.iso);
    return era ? { era: era.key, year: eraYear, month, day } : { era: "western", year, month, day };
  }
  const text = String(value).normalize("NFKC");
  const match = text.match(/^(令和|平成|昭和|大正|明治)?(元|\d*)[年-]?(\d*)[月-]?(\d*)日?$/);
  if (!match) return {};
  const era = match[1] ? ERAS.find((e) => e.ja === match[1]).key : "western";
  return { era, year: match[2] === "元" ? "1" : match[2], month: match[3], day: match[4] };
}

function joinDate({ era, year, month, day }) {
  const known = ERAS.find((e) => e.key === era);
  if (known) return `${known.ja}${year}年${month}月${day}日`;
  return `${year}-${month}-${day}`;
}

function birthEcho(iso, era) {
  const { year, month, day } = warekiParts(iso);
  if (era === "western") {
    const wareki = eraYearOf(iso);
    return wareki ? `${t("warekiIs")} ${wareki}` : "";
  }
  return `${t("westernIs")} ${lang() === "en" ? `${day}/${month}/${year}` : `${year}年${month}月${day}日`}`;
}

function findPrefectures(schema) {
  // The 47 都道府県 are an enum somewhere in the schema (address_jp.prefecture).
  let found = null;
  const walk = (node) => {
    if (found || !node || typeof node !== "object") return;
    if (node.properties?.prefecture?.enum) {
      found = node.properties.prefecture.enum;
      return;
    }
    for (const child of Object.values(node)) walk(child);
  };
  walk(schema);
  return found;
}
