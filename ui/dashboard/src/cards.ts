// The cards: an area's counts, then coverage and install rate three ways (found coverage,
// target coverage, installs of smartphones seen and of smartphone owners targeted), each card
// naming its denominator, so that no single number hides which one it is (issue 8).

import { h } from "./dom";
import { fmtNumber, fmtPercent, t } from "./i18n";
import type { AreaTargets, Coverage, TargetSum } from "./types";

function countCard(testid: string, label: string, value: number | undefined, note: string): HTMLElement {
  return h(
    "div",
    { class: "card", testid },
    h("div", { class: "card-label" }, label),
    h("div", { class: "card-value", "data-value": value === undefined ? null : String(value) }, value === undefined ? "…" : fmtNumber(value)),
    h("div", { class: "card-note" }, note),
  );
}

/** A rate's card: "—" and `missing` (why, and what to do) when there is no rate. */
function rateCard(testid: string, label: string, c: Coverage | undefined, rate: number | null | undefined, note: string, missing: string | null, partial: HTMLElement | null): HTMLElement {
  const none = c !== undefined && (rate === null || rate === undefined);
  return h(
    "div",
    { class: "card rate", testid },
    h("div", { class: "card-label" }, label),
    h(
      "div",
      { class: "card-value", "data-rate": c === undefined || none ? null : String(rate), "data-none": none ? "true" : null },
      c === undefined ? "…" : fmtPercent(rate),
    ),
    none && missing ? h("div", { class: "card-note hint", testid: `${testid}-missing` }, missing) : h("div", { class: "card-note" }, note),
    partial,
  );
}

/**
 * Under the headline "coverage of households found" (which reads 100 % as soon as every household
 * found is visited), the rate on the target households beside it; where there is no target, what
 * is missing and who enters it, in words (issue 19, item 7).
 */
export function targetLine(c: Coverage): HTMLElement {
  const target = c.targets?.households ?? null;
  const sum = c.targets?.households_sum;
  const line = (text: string, rate: string | null) =>
    h("div", { class: `card-note target-line${rate === null ? " hint" : ""}`, testid: "card-found-coverage-target" }, text, rate ? [" ", h("strong", null, rate)] : null);
  if (target === null) return line(t("cards.found_vs_target_missing", { area: c.area_name || c.area_code }), null);
  const rate = c.target_coverage_rate ?? null;
  if (rate === null && sum && sum.areas_with_target < sum.areas) return line(t("targets.partial", { n: sum.areas_with_target, m: sum.areas }), null);
  return line(t("cards.found_vs_target", { target }), fmtPercent(rate));
}

function withTargetLine(card: HTMLElement, c: Coverage | undefined): HTMLElement {
  if (c) card.append(targetLine(c));
  return card;
}

/** The partial roll-up marker of a summed target figure, or null when it covers its level. */
export function partialMarker(sum: TargetSum | null | undefined, testid: string): HTMLElement | null {
  if (!sum || sum.areas_with_target >= sum.areas) return null;
  return h("div", { class: "card-note partial", testid, role: "note" }, "⚠ ", t("targets.partial", { n: sum.areas_with_target, m: sum.areas }));
}

/** The cards of an area (`undefined` while it loads): counts, then the rates three ways. */
export function renderCardList(c: Coverage | undefined, app: string): HTMLElement[] {
  const withApp = c ? c.already_installed + c.installed_now : undefined;
  const targets: AreaTargets | null = c?.targets ?? null;
  const targetHouseholds = targets?.households ?? null;
  const owners = targets?.smartphone_owners ?? null;
  return [
    countCard("card-visited", t("cards.visited"), c?.households_visited, t("cards.visited_note")),
    countCard("card-households-with-app", t("cards.households_with_app", { app }), c ? (c.households_with_app ?? 0) : undefined, t("cards.households_with_app_note")),
    countCard("card-known", t("cards.known"), c?.households_known, t("cards.known_note")),
    countCard("card-smartphones", t("cards.smartphones"), c?.smartphones_seen, t("cards.smartphones_note")),
    countCard("card-installs", t("cards.installs", { app }), withApp, t("cards.installs_note")),
    countCard("card-visits", t("cards.visits"), c?.visits, t("cards.visits_note")),
    withTargetLine(
      rateCard(
        "card-found-coverage",
        t("cards.found_coverage"),
        c,
        c?.coverage_rate,
        c ? t("cards.found_coverage_note", { visited: c.households_visited, known: c.households_known }) : "",
        null,
        null,
      ),
      c,
    ),
    rateCard(
      "card-target-coverage",
      t("cards.target_coverage"),
      c,
      c?.target_coverage_rate,
      c && targetHouseholds !== null ? t("cards.target_coverage_note", { visited: c.households_visited, target: targetHouseholds }) : "",
      // A partial target has figures but no rate: its marker says why.
      targetHouseholds === null && c ? t("cards.no_target_households", { area: c.area_name || c.area_code }) : null,
      partialMarker(targets?.households_sum, "card-target-coverage-partial"),
    ),
    rateCard(
      "card-install-rate",
      t("cards.install_rate_seen"),
      c,
      c?.install_rate,
      c ? t("cards.install_rate_seen_note", { with: withApp ?? 0, app, seen: c.smartphones_seen }) : "",
      null,
      null,
    ),
    rateCard(
      "card-install-rate-owners",
      t("cards.install_rate_owners"),
      c,
      c?.install_rate_of_owners,
      c && owners !== null ? t("cards.install_rate_owners_note", { with: withApp ?? 0, app, owners }) : "",
      owners === null && c ? t("cards.no_target_owners", { area: c.area_name || c.area_code }) : null,
      partialMarker(targets?.smartphone_owners_sum, "card-install-rate-owners-partial"),
    ),
  ];
}
