// The pages linked from every page's footer: 個人情報の取扱い (privacy notice) and the
// アクセシビリティ方針 (accessibility statement). Their text is in i18n.js like every
// other string, as lists of paragraphs per section.

import { el } from "./dom.js";
import { t, texts } from "./i18n.js";
import { link, show } from "./ui.js";

function sections(key) {
  return texts(key).map(([title, ...paragraphs], index) =>
    el("section", { "aria-labelledby": `${key}-${index}` },
      el("h2", { id: `${key}-${index}` }, title),
      paragraphs.map((paragraph) => el("p", {}, paragraph))));
}

export function privacyPage() {
  show(
    el("h1", {}, t("privacyTitle")),
    el("p", {}, t("privacyLead")),
    sections("privacySections"),
    el("p", {}, link("#/me", t("openMyPage"))),
  );
}

export function accessibilityPage() {
  show(
    el("h1", {}, t("accessibilityTitle")),
    el("p", {}, t("accessibilityLead")),
    sections("accessibilitySections"),
  );
}
