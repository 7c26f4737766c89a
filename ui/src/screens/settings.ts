// Settings: language, server, location accuracy threshold and source, base map file; "Sync now".

import type { Ctx, View } from "../app";
import { toErrorBody } from "../api";
import { h, fill } from "../dom";
import { fmtNumber, pick, relTime, t } from "../i18n";
import { icon } from "../icons";
import type { BasemapStatus, ErrorBody, Settings } from "../types";
import { languageSwitch } from "./enrol";

/** The server's base map on this phone: held, downloading, or none yet. */
function serverMapText(b: BasemapStatus | null | undefined): string {
  const mb = (n: number) => fmtNumber(n / 1_048_576, 1);
  if (!b) return t("settings.server_map_none");
  if (b.path) return t("settings.server_map_held", { name: b.name, size: mb(b.size) });
  return t("settings.server_map_downloading", { name: b.name, done: mb(b.downloaded), size: mb(b.size) });
}

export function settingsView(ctx: Ctx): View {
  const s: Settings = ctx.state.settings ?? { language: "vi", server: "", accuracy_threshold_m: 50, location_provider: "auto", basemap: null };
  const note = h("div", { class: "hint-slot", "aria-live": "polite" });
  const serverMap = h("p", { class: "hint", testid: "settings-server-map", "aria-live": "polite" });
  const renderServerMap = () => (serverMap.textContent = serverMapText(ctx.state.status?.basemap));
  const syncLine = h("p", { class: "hint", testid: "settings-last-sync" });

  const server = h("input", { id: "settings-server", testid: "settings-server", type: "url", inputmode: "url", autocapitalize: "off", spellcheck: "false", value: s.server });
  const accuracy = h("input", { id: "settings-accuracy", testid: "settings-accuracy", type: "number", inputmode: "numeric", min: "5", max: "1000", step: "1", value: String(s.accuracy_threshold_m) });
  const provider = h(
    "select",
    { id: "settings-provider", testid: "settings-provider" },
    h("option", { value: "auto", selected: s.location_provider === "auto" ? true : null }, t("settings.provider_auto")),
    h("option", { value: "fixed", selected: s.location_provider === "fixed" ? true : null }, t("settings.provider_fixed")),
  );
  const basemap = h("input", { id: "settings-basemap", testid: "settings-basemap", type: "text", autocapitalize: "off", spellcheck: "false", placeholder: "…/basemaps/ha-tinh.pmtiles", value: s.basemap ?? "" });

  function showError(e: ErrorBody) {
    fill(note, h("p", { class: "field-error", testid: e.field ? `field-error-${e.field}` : "settings-error", role: "alert" }, pick(e.messages)));
  }

  async function save() {
    const current = ctx.state.settings ?? s;
    const next: Settings = {
      ...current,
      server: server.value.trim(),
      accuracy_threshold_m: Number(accuracy.value),
      location_provider: provider.value === "fixed" ? "fixed" : "auto",
      basemap: basemap.value.trim() || null,
    };
    try {
      ctx.state.settings = await ctx.api.setSettings(next);
      fill(note, h("p", { class: "ok", testid: "settings-saved" }, t("settings.saved")));
    } catch (e) {
      showError(toErrorBody(e));
    }
  }

  function renderSync() {
    const st = ctx.state.status;
    const off = ctx.state.campaign?.utc_offset_minutes ?? 420;
    syncLine.textContent = st?.last_sync_ok ? t("home.last_sync", { when: relTime(st.last_sync_ok, ctx.now(), off) }) : t("home.never_synced");
  }

  const field = (id: string, label: string, input: HTMLElement, hint?: string) =>
    h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { class: "hint" }, hint) : null);

  const el = h(
    "section",
    { class: "page settings", testid: "settings" },
    h("h1", null, t("settings.title")),
    h("div", { class: "field" }, h("span", { class: "label" }, t("settings.language")), languageSwitch(ctx, "settings")),
    h(
      "section",
      { class: "card" },
      h("h2", null, t("settings.sync")),
      syncLine,
      h(
        "button",
        {
          type: "button",
          class: "btn primary big",
          testid: "sync-now",
          onclick: async () => {
            try {
              ctx.state.status = await ctx.api.syncNow();
              renderSync();
            } catch (e) {
              showError(toErrorBody(e));
            }
          },
        },
        icon("sync"),
        t("settings.sync_now"),
      ),
    ),
    h(
      "form",
      {
        class: "form",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void save();
        },
      },
      field("settings-server", t("settings.server"), server),
      field("settings-accuracy", t("settings.accuracy"), accuracy),
      field("settings-provider", t("settings.provider"), provider),
      serverMap,
      field("settings-basemap", t("settings.basemap"), basemap, t("settings.basemap_hint")),
      note,
      h("button", { type: "submit", class: "btn big", testid: "settings-save" }, t("settings.save")),
    ),
    h(
      "section",
      { class: "card" },
      h("p", { class: "hint" }, `${t("settings.device")}: `, h("code", { testid: "device-id" }, ctx.state.status?.device_id || "—")),
      h("button", { type: "button", class: "btn", testid: "settings-enrol-again", onclick: () => ctx.go("enrol") }, t("settings.enrol_again")),
    ),
  );
  for (const input of [server, accuracy, provider, basemap]) input.addEventListener("change", () => void save());
  renderSync();
  renderServerMap();
  return {
    el,
    onStatus: () => {
      renderSync();
      renderServerMap();
    },
  };
}
