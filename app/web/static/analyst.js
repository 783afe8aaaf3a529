// The analysts' page: staff sign-in (analyst or admin role), then the headline KPI
// 行政手続のオンライン手続数 per fiscal year from the baseline year on (a bar chart with
// axes, a legend and the labelled baseline, drawn in px from the root font size so its
// text grows with the browser's text size), the year's usage figures (申請件数,
// オンライン利用率...), the same numbers as a table, and the CSV files.

import { el } from "./dom.js";
import { lang, loc, setLang, t } from "./i18n.js";

const main = document.getElementById("main");
const STAFF_KEY = "madoguchi.staff";
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

function show(...children) {
  main.replaceChildren(...children.flat(Infinity).filter(Boolean));
  main.querySelector("h1")?.focus();
}

function notice(text, kind = "info", id = null) {
  return el("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status", id }, text);
}

function staffSession() {
  const stored = JSON.parse(sessionStorage.getItem(STAFF_KEY) || "null");
  return stored && stored.expires_at > Date.now() + 10_000 ? stored : null;
}

async function staffFetch(path, options = {}) {
  const session = staffSession();
  return fetch(path, {
    ...options,
    headers: { Accept: "application/json", ...(session ? { Authorization: `Bearer ${session.token}` } : {}) },
  });
}

function heading() {
  return el("h1", { tabindex: "-1" }, t("analystTitle"));
}

// ---- sign-in

function signInPage({ message = null, kind = "error", email: typed = "" } = {}) {
  const email = el("input", {
    id: "staff-email", type: "email", autocomplete: "username", required: true, value: typed,
  });
  const password = el("input", {
    id: "staff-password", type: "password", autocomplete: "current-password", required: true,
  });
  const button = el("button", { type: "submit", class: "primary" }, t("signIn"));
  const form = el("form", { novalidate: true },
    el("div", { class: "field" }, el("label", { for: "staff-email" }, t("staffEmail")), email),
    el("div", { class: "field" }, el("label", { for: "staff-password" }, t("staffPassword")), password),
    el("div", { class: "actions" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!email.value.trim() || !password.value) {
      signInPage({ message: t("signInMissing"), email: email.value });
      document.getElementById(email.value.trim() ? "staff-password" : "staff-email").focus();
      return;
    }
    button.disabled = true;
    let response;
    try {
      response = await fetch("/api/v1/admin/auth/token", {
        method: "POST",
        body: new URLSearchParams({ username: email.value, password: password.value }),
      });
    } catch {
      return signInPage({ message: t("networkError"), email: email.value });
    }
    if (response.status === 429) {
      const seconds = Number(response.headers.get("Retry-After")) || 60;
      return signInPage({ message: t("signInRateLimited", { seconds }), email: email.value });
    }
    if (!response.ok) {
      // The email stays; only the password is typed again.
      signInPage({ message: t("signInFailed"), email: email.value });
      document.getElementById("staff-password").focus();
      return;
    }
    const token = await response.json();
    sessionStorage.setItem(STAFF_KEY, JSON.stringify({
      token: token.access_token, expires_at: Date.now() + (token.expires_in || 900) * 1000,
    }));
    dashboard();
  });
  show(
    heading(),
    message ? notice(message, kind, "sign-in-message") : null,
    el("h2", {}, t("analystSignIn")),
    form,
  );
}

async function signOut() {
  await staffFetch("/api/v1/admin/auth/logout", { method: "POST" }).catch(() => null);
  sessionStorage.removeItem(STAFF_KEY);
  signInPage({ message: t("signedOut"), kind: "info" });
}

function signOutButton() {
  const button = el("button", { type: "button", class: "secondary", id: "sign-out" }, t("signOut"));
  button.addEventListener("click", signOut);
  return button;
}

// ---- the dashboard

async function readJson(path) {
  const response = await staffFetch(path);
  if (!response.ok) {
    const error = new Error(`HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

function percent(value) {
  return value == null ? "—" : new Intl.NumberFormat(lang() === "en" ? "en-GB" : "ja-JP", {
    style: "percent", maximumFractionDigits: 1,
  }).format(value);
}

function count(value) {
  return t("procedureCount", { count: new Intl.NumberFormat("ja-JP").format(value) });
}

function yearLabel(row) {
  return lang() === "en" ? `FY${row.fiscal_year}` : row.fiscal_year_label;
}

async function dashboard() {
  if (!staffSession()) return signInPage();
  let me;
  let trend;
  let usage;
  let municipalities;
  try {
    [me, trend, usage, municipalities] = await Promise.all([
      readJson("/api/v1/admin/auth/me"),
      readJson("/api/v1/kpi/online-procedures"),
      readJson("/api/v1/kpi/usage"),
      readJson("/api/v1/municipalities"),
    ]);
  } catch (error) {
    if (error.status === 401) {
      sessionStorage.removeItem(STAFF_KEY);
      return signInPage({ message: t("signInExpired") });
    }
    if (error.status === 403) {
      return show(heading(), notice(t("analystRoleRequired"), "error", "role-error"),
        el("div", { class: "actions" }, signOutButton()));
    }
    return show(heading(), notice(t("kpiUnavailable"), "error"), el("div", { class: "actions" }, signOutButton()));
  }
  const municipality = municipalities.items.find((m) => m.code === me.municipality_code);
  const rows = trend.items.filter((row) => !row.department);
  const latest = rows.at(-1);
  show(
    heading(),
    el("div", { class: "signed-in" },
      el("p", { id: "signed-in-as" }, t("signedInAs", {
        municipality: municipality ? loc(municipality.name) : me.municipality_code,
        name: me.display_name,
      })),
      signOutButton()),
    el("section", { "aria-labelledby": "figures-title" },
      el("h2", { id: "figures-title" }, t("figuresTitle", {
        period: usage.fiscal_year_label || `${usage.period_from}〜${usage.period_to}`,
      })),
      el("dl", { class: "figures", id: "figures" },
        figure(t("onlineProcedures"), latest ? count(latest.online_procedures) : "—",
          latest?.change_from_baseline != null ? t("fromBaseline", { change: signed(latest.change_from_baseline) }) : null),
        figure(t("applications"), count(usage.total.applications),
          t("byChannel", { online: usage.total.online, counter: usage.total.counter })),
        figure(t("onlineRate"), percent(usage.total.online_rate)),
        figure(t("cardShare"), percent(usage.total.card_share)),
        figure(t("cashlessShare"), percent(usage.total.cashless_share)),
        figure(t("returnedRate"), percent(usage.total.returned_rate)))),
    el("section", { class: "chart", "aria-labelledby": "trend-title" },
      el("h2", { id: "trend-title" }, t("kpiTrendTitle")),
      legend(rows, trend.baseline),
      trendChart(rows, trend.baseline),
      trendTable(rows, trend.baseline)),
    el("section", { "aria-labelledby": "downloads-title" },
      el("h2", { id: "downloads-title" }, t("downloadsTitle")),
      el("div", { class: "actions" },
        csvButton("csv-online-procedures", t("csvOnlineProcedures"), "/api/v1/kpi/online-procedures.csv"),
        csvButton("csv-usage", t("csvUsage"), "/api/v1/kpi/usage.csv")),
      el("div", { "aria-live": "polite", id: "download-status" })),
  );
}

function signed(value) {
  return value > 0 ? `+${value}` : String(value);
}

function figure(term, value, note = null) {
  return el("div", { class: "figure" },
    el("dt", {}, term), el("dd", {}, el("span", { class: "figure-value" }, value),
      note ? el("span", { class: "figure-note" }, note) : null));
}

function csvButton(id, text, path) {
  const button = el("button", { type: "button", class: "secondary", id }, text);
  button.addEventListener("click", async () => {
    const status = document.getElementById("download-status");
    const response = await staffFetch(path).catch(() => null);
    if (response?.status === 401) {
      // Signed out elsewhere or expired: sign in again rather than "could not download".
      sessionStorage.removeItem(STAFF_KEY);
      signInPage({ message: t("signInExpired") });
      return;
    }
    if (!response?.ok) {
      status.replaceChildren(notice(t("downloadFailed"), "error"));
      return;
    }
    const name = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "")?.[1]
      || path.split("/").at(-1);
    const url = URL.createObjectURL(await response.blob());
    const anchor = el("a", { href: url, download: name, hidden: true });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.replaceChildren(notice(t("downloaded", { name })));
  });
  return button;
}

// ---- the chart

/** Every fiscal year from the baseline year (or the first counted) to the last one. */
function yearsOf(rows, baseline) {
  const counted = new Map(rows.map((row) => [row.fiscal_year, row]));
  const years = [...counted.keys(), ...(baseline ? [baseline.fiscal_year] : [])];
  if (!years.length) return [];
  const first = Math.min(...years);
  const last = Math.max(...years);
  const result = [];
  for (let year = first; year <= last; year += 1) {
    result.push(counted.get(year) || {
      fiscal_year: year,
      fiscal_year_label: year === baseline?.fiscal_year ? baseline.fiscal_year_label : reiwaLabel(year),
      online_procedures: null,
    });
  }
  return result;
}

function reiwaLabel(year) {
  // Fiscal years here are from 2019 (令和元年度) on; earlier ones name 平成.
  if (year >= 2019) return `令和${year === 2019 ? "元" : year - 2018}年度`;
  return `平成${year - 1988}年度`;
}

/** The baseline year is drawn as a grey bar when no count of ours covers it. */
function baselineBarShown(rows, baseline) {
  return Boolean(baseline)
    && !rows.some((row) => row.fiscal_year === baseline.fiscal_year && row.online_procedures != null);
}

function legend(rows, baseline) {
  return el("ul", { class: "legend", id: "chart-legend" },
    el("li", {}, el("span", { class: "swatch online", "aria-hidden": "true" }), t("legendOnline")),
    baseline ? el("li", {}, el("span", { class: "swatch baseline", "aria-hidden": "true" }),
      t("legendBaseline", { year: baseline.fiscal_year_label, count: baseline.online_procedures })) : null,
    baselineBarShown(rows, baseline)
      ? el("li", {}, el("span", { class: "swatch baseline-year", "aria-hidden": "true" }),
        t("legendBaselineYear", { year: baseline.fiscal_year_label }))
      : null);
}

/** Text drawn over grid lines stays legible: a white outline under its letters. */
function halo(font) {
  return { stroke: "#fff", "stroke-width": font * 0.3, "stroke-linejoin": "round", "paint-order": "stroke" };
}

function niceStep(max) {
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough) || power * 10;
}

/**
 * Horizontal bars, one row per fiscal year (years without a count say so), a dashed
 * line at the baseline, x axis with ticks and its title. Sized in px from the root
 * font size and the container's width, redrawn when either changes, so 200% text
 * gives 200% labels and still fits 360 px.
 */
function trendChart(rows, baseline) {
  const container = el("div", { class: "chart-frame", id: "trend-chart" });
  // 1rem wide: it resizes when the text size changes, and the chart is drawn again.
  const ruler = el("span", { class: "rem-ruler", "aria-hidden": "true" });
  // The x axis title is text under the chart, so it wraps at any size.
  const axisTitle = el("p", { class: "axis-title", id: "axis-title" });
  const draw = () => {
    const width = Math.max(container.clientWidth, 200);
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const font = rem * 0.875;
    const years = yearsOf(rows, baseline);
    const labels = years.map((row) => yearLabel(row));
    const measure = (text) => [...text].reduce((sum, char) => sum + (char.charCodeAt(0) > 0xff ? font : font * 0.62), 0);
    const labelWidth = Math.max(...labels.map(measure), font * 3) + font * 0.75;
    // Large text on a narrow screen: each year's label goes above its bar instead of
    // beside it, so nothing is cut off.
    const stacked = labelWidth > width * 0.4;
    const left = stacked ? font * 0.25 : labelWidth;
    const right = font * 2.5;
    const barHeight = font * 1.3;
    const rowHeight = stacked ? font * 1.4 + barHeight + font * 0.6 : font * 2.4;
    const top = font * 2.2;
    const bottom = font * 2;
    const plotWidth = Math.max(width - left - right, font * 4);
    const height = top + rowHeight * years.length + bottom;
    const values = years.map((row) => row.online_procedures ?? 0);
    const highest = Math.max(1, baseline?.online_procedures || 0, ...values);
    // Ticks far enough apart for their labels at this text size.
    let step = niceStep(highest);
    while ((step / (Math.ceil(highest / step) * step)) * plotWidth < measure(String(highest)) + font * 1.2) {
      step = niceStep(step * 4.01);
    }
    const max = Math.ceil(highest / step) * step;
    const x = (value) => left + (value / max) * plotWidth;
    const chart = svg("svg", {
      width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-labelledby": "trend-chart-title trend-chart-desc", "font-size": font,
    },
    svg("title", { id: "trend-chart-title" }, t("kpiChartLabel")),
    svg("desc", { id: "trend-chart-desc" }, t("kpiChartDescription")));
    // Grid and x axis ticks.
    for (let value = 0; value <= max; value += step) {
      chart.append(
        svg("line", { x1: x(value), x2: x(value), y1: top, y2: height - bottom, stroke: "#b1b4b6", "stroke-width": 1 }),
        svg("text", { x: x(value), y: height - bottom + font * 1.3, "text-anchor": value === 0 && stacked ? "start" : "middle", fill: "#0b0c0c", class: "tick" }, String(value)));
    }
    chart.append(
      svg("line", { x1: left, x2: left + plotWidth, y1: height - bottom, y2: height - bottom, stroke: "#0b0c0c", "stroke-width": 2 }),
      svg("line", { x1: left, x2: left, y1: top, y2: height - bottom, stroke: "#0b0c0c", "stroke-width": 2 }));
    years.forEach((row, index) => {
      const y = top + index * rowHeight;
      const barTop = stacked ? y + font * 1.4 : y + (rowHeight - barHeight) / 2;
      const middle = barTop + barHeight / 2 + font * 0.35;
      chart.append(stacked
        ? svg("text", { x: left + font * 0.3, y: y + font * 1.1, fill: "#0b0c0c", class: "year", ...halo(font) }, labels[index])
        : svg("text", { x: left - font * 0.4, y: middle, "text-anchor": "end", fill: "#0b0c0c", class: "year" }, labels[index]));
      const isBaselineYear = baseline && row.fiscal_year === baseline.fiscal_year && row.online_procedures == null;
      const value = isBaselineYear ? baseline.online_procedures : row.online_procedures;
      if (value == null) {
        chart.append(svg("text", { x: left + font * 0.4, y: middle, fill: "#333", class: "no-data", ...halo(font) }, t("noData")));
        return;
      }
      chart.append(
        svg("rect", {
          x: left, y: barTop, width: Math.max(x(value) - left, 1), height: barHeight,
          fill: isBaselineYear ? "#6f777b" : "#0b3d91", class: isBaselineYear ? "bar baseline-bar" : "bar",
        }),
        svg("text", { x: x(value) + font * 0.3, y: middle, fill: "#0b0c0c", class: "value" }, String(value)));
    });
    if (baseline) {
      const bx = x(baseline.online_procedures);
      const label = t("baselineMark", { count: baseline.online_procedures });
      const anchor = bx + measure(label) / 2 > width ? "end" : bx - measure(label) / 2 < 0 ? "start" : "middle";
      chart.append(
        svg("line", {
          x1: bx, x2: bx, y1: top - font * 0.3, y2: height - bottom, stroke: "#b00020",
          "stroke-width": 2, "stroke-dasharray": "6 4", class: "baseline-line",
        }),
        svg("text", {
          x: anchor === "end" ? width - 2 : anchor === "start" ? 2 : bx, y: top - font * 0.7,
          "text-anchor": anchor, fill: "#b00020", class: "baseline-label",
        }, label));
    }
    axisTitle.textContent = t("axisOnlineProcedures");
    container.replaceChildren(chart, axisTitle, ruler);
  };
  const observer = new ResizeObserver(draw);
  observer.observe(container);
  observer.observe(ruler);
  return container;
}

function trendTable(rows, baseline) {
  const table = el("table", { id: "trend-table" },
    el("caption", { id: "trend-table-caption" }, t("kpiTableCaption")),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("fiscalYear")),
      el("th", { scope: "col" }, t("onlineProcedures")),
      el("th", { scope: "col" }, t("fullyOnline")),
      el("th", { scope: "col" }, t("changeFromBaseline")))),
    el("tbody", {}, yearsOf(rows, baseline).map((row) => el("tr", {},
      el("th", { scope: "row" }, yearLabel(row)),
      el("td", {}, row.online_procedures == null
        ? (baseline && row.fiscal_year === baseline.fiscal_year ? `${baseline.online_procedures}（${t("baseline")}）` : t("noData"))
        : String(row.online_procedures)),
      el("td", {}, row.fully_online_procedures == null ? "—" : String(row.fully_online_procedures)),
      el("td", {}, row.change_from_baseline == null ? "—" : signed(row.change_from_baseline))))));
  return el("div", { class: "table-scroll", role: "region", tabindex: "0", "aria-labelledby": "trend-table-caption" },
    table);
}

// ---- frame

function renderChrome() {
  document.documentElement.lang = lang();
  document.title = t("analystTitle");
  document.getElementById("skip-link").textContent = t("skipLink");
  document.getElementById("site-name").textContent = t("siteName");
  document.getElementById("site-nav").setAttribute("aria-label", t("siteNavigation"));
  document.getElementById("footer-privacy").textContent = t("privacyTitle");
  document.getElementById("footer-accessibility").textContent = t("accessibilityTitle");
  const toggle = document.getElementById("lang-switch");
  toggle.textContent = t("switchLanguage");
  toggle.lang = t("switchLanguageLang");
}

document.getElementById("lang-switch").addEventListener("click", () => {
  setLang(lang() === "ja" ? "en" : "ja");
  renderChrome();
  // The sign-in form keeps what is typed; the dashboard is drawn again.
  if (staffSession()) dashboard();
  else signInPage({ email: document.getElementById("staff-email")?.value || "" });
});

// The skip link moves the focus without changing the address (as on the citizen pages).
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

renderChrome();
dashboard();
