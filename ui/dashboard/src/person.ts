import { h } from "./dom";
import { t } from "./i18n";

/** A volunteer as leaders read them: their display name, with the username beside it (two
 *  people may share a name; none share a username), or, for an id no account has, "unknown"
 *  and the id's start. */
export function personCell(name: string | null | undefined, username: string | null | undefined, id?: string): HTMLElement {
  if (!name && !username) return h("span", { class: "person unknown", title: id }, t("people.unknown_volunteer", { id: (id ?? "").slice(0, 8) }));
  const shown = name || username || "";
  return h("span", { class: "person" }, h("span", { class: "person-name" }, shown), username && username !== shown ? h("span", { class: "muted small person-user" }, ` @${username}`) : null);
}
