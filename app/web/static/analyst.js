// The analysts' page: sign in as staff (analyst role), then the headline KPI
// 行政手続のオンライン手続数 per fiscal year as an SVG bar chart, with the same
// figures as a table (the chart's text alternative).

import { el } from "./dom.js";
import { lang, setLang, t } from "./i18n.js";

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
  main.replaceChildren(...children.filter(Boolean));
  main.querySelector("h1")?.focus();
}

function staffToken() {
  const stored = JSON.parse(sessionStorage.getItem(STAFF_KEY) || "null");
  return stored && stored.expires_at > Date.now() + 10_000 ? stored.token : null;
}

function signInPage(message) {
  const email = el("input", { id: "staff-email", type: "email", autocomplete: "username", required: true });
  const password = el("input", {
    id: "staff-password", type: "password", autocomplete: "current-password", required: true,
  });
  const form = el("form", {},
    el("div", { class: "field" }, el("label", { for: "staff-email" }, t("staffEmail")), email),
    el("div", { class: "field" }, el("label", { for: "staff-password" }, t("staffPassword")), password),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, t("signIn"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch("/api/v1/admin/auth/token", {
      method: "POST",
      body: new URLSearchParams({ username: email.value, password: password.value }),
    });
    if (!response.ok) return signInPage(t("signInFailed"));
    const token = await response.json();
    sessionStorage.setItem(STAFF_KEY, JSON.stringify({
      token: token.access_token, expires_at: Date.now() + (token.expires_in || 900) * 1000,
    }));
    trendPage();
  });
  show(
    el("h1", { tabindex: "-1" }, t("analystTitle")),
    message ? el("p", { class: "notice error", role: "alert" }, message) : null,
    el("h2", {}, t("analystSignIn")),
    form,
  );
}

async function trendPage() {
  const token = staffToken();
  if (!token) return signInPage();
  const response = await fetch("/api/v1/kpi/online-procedures", {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });
  if (response.status === 401) return signInPage();
  if (!response.ok) {
    show(el("h1", { tabindex: "-1" }, t("analystTitle")),
      el("p", { class: "notice error", role: "alert" }, t("kpiUnavailable")));
    return;
  }
  const report = await response.json();
  const rows = report.items.filter((row) => !row.department);
  show(
    el("h1", { tabindex: "-1" }, t("analystTitle")),
    el("section", { class: "chart", "aria-labelledby": "trend-title" },
      el("h2", { id: "trend-title" }, t("kpiTrendTitle")),
      trendChart(rows, report.baseline),
      report.baseline ? el("p", {}, t("kpiBaseline", {
        year: report.baseline.fiscal_year_label, count: report.baseline.online_procedures,
      })) : null,
      trendTable(rows)),
  );
}

/** Bars per fiscal year, a dashed line at the baseline; sized by viewBox so it scales. */
function trendChart(rows, baseline) {
  const width = 340;
  const height = 220;
  const left = 36;
  const bottom = 40;
  const top = 16;
  const values = rows.map((row) => row.online_procedures);
  const max = Math.max(1, baseline?.online_procedures || 0, ...values);
  const plotHeight = height - top - bottom;
  const slot = (width - left - 8) / Math.max(rows.length, 1);
  const y = (value) => top + plotHeight - (value / max) * plotHeight;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "trend-chart-title",
  }, svg("title", { id: "trend-chart-title" }, t("kpiChartLabel")));
  chart.append(svg("line", {
    x1: left, x2: width - 8, y1: y(0), y2: y(0), stroke: "#0b0c0c", "stroke-width": 2,
  }));
  rows.forEach((row, index) => {
    const barWidth = Math.min(slot * 0.7, 48);
    const x = left + index * slot + (slot - barWidth) / 2;
    const value = row.online_procedures;
    chart.append(
      svg("rect", { x, y: y(value), width: barWidth, height: y(0) - y(value), fill: "#0b3d91" }),
      svg("text", {
        x: x + barWidth / 2, y: y(value) - 4, "text-anchor": "middle", "font-size": 12, fill: "#0b0c0c",
      }, String(value)),
      svg("text", {
        x: x + barWidth / 2, y: height - bottom + 16, "text-anchor": "middle", "font-size": 11,
        fill: "#0b0c0c",
      }, lang() === "en" ? `FY${row.fiscal_year}` : row.fiscal_year_label),
    );
  });
  if (baseline) {
    chart.append(svg("line", {
      x1: left, x2: width - 8, y1: y(baseline.online_procedures), y2: y(baseline.online_procedures),
      stroke: "#b00020", "stroke-width": 2, "stroke-dasharray": "6 4",
    }));
  }
  return chart;
}

function trendTable(rows) {
  return el("table", {},
    el("caption", {}, t("kpiTrendTitle")),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("fiscalYear")),
      el("th", { scope: "col" }, t("onlineProcedures")),
      el("th", { scope: "col" }, t("fullyOnline")),
      el("th", { scope: "col" }, t("changeFromBaseline")))),
    el("tbody", {}, rows.map((row) => el("tr", {},
      el("th", { scope: "row" }, lang() === "en" ? `FY${row.fiscal_year}` : row.fiscal_year_label),
      el("td", {}, String(row.online_procedures)),
      el("td", {}, String(row.fully_online_procedures)),
      el("td", {}, row.change_from_baseline == null ? "—" : String(row.change_from_baseline))))));
}

document.getElementById("lang-switch").addEventListener("click", () => {
  setLang(lang() === "ja" ? "en" : "ja");
  renderChrome();
  trendPage();
});

function renderChrome() {
  document.documentElement.lang = lang();
  document.title = t("analystTitle");
  document.getElementById("site-name").textContent = t("siteName");
  const toggle = document.getElementById("lang-switch");
  toggle.textContent = t("switchLanguage");
  toggle.lang = t("switchLanguageLang");
}

renderChrome();
trendPage();
