// The sign-in screen. Errors are kept as data (an ApiError or a message key) and turned into text
// at render time, so that switching the language translates them too. A 429 shows the wait from
// Retry-After, counting down, with the button disabled until it is over.

import { ApiError, errorText, login, resetPassword } from "./api";
import { h } from "./dom";
import { t, type Key } from "./i18n";
import type { User } from "./types";

export type LoginState = {
  username: string;
  error: { key: Key } | { err: unknown } | null;
  busy: boolean;
  /** Epoch ms until which sign-in is throttled. */
  waitUntil: number;
};

export function newLoginState(message: Key | null = null): LoginState {
  return { username: "", error: message ? { key: message } : null, busy: false, waitUntil: 0 };
}

/** "Set a password with a code": a person given a one-time code by an admin (a new account's
 *  first password, or a forgotten one) sets their password here, with no session. */
function renderReset(prefill: string, onDone: (username: string) => void): HTMLElement {
  const username = h("input", { id: "reset-username", testid: "reset-username", autocomplete: "username", autocapitalize: "none", spellcheck: "false", value: prefill });
  const code = h("input", { id: "reset-code", testid: "reset-code", autocomplete: "one-time-code", autocapitalize: "characters", spellcheck: "false" });
  const password = h("input", { id: "reset-password", testid: "reset-password", type: "password", autocomplete: "new-password" });
  const message = h("p", { class: "error", testid: "reset-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary", testid: "reset-submit" }, t("reset.submit"));
  const show = (text: string) => {
    message.textContent = text;
    message.hidden = text === "";
  };
  return h(
    "details",
    { class: "reset", testid: "reset" },
    h("summary", null, t("reset.open")),
    h(
      "form",
      {
        class: "login-form",
        novalidate: true,
        onsubmit: async (e: Event) => {
          e.preventDefault();
          if (!username.value.trim() || !code.value.trim() || !password.value) return show(t("reset.empty"));
          submit.disabled = true;
          try {
            await resetPassword(username.value.trim(), code.value.trim(), password.value);
            show("");
            onDone(username.value.trim());
          } catch (err) {
            show(errorText(err));
          } finally {
            submit.disabled = false;
          }
        },
      },
      h("p", { class: "muted" }, t("reset.intro")),
      h("label", { for: "reset-username" }, t("login.username")),
      username,
      h("label", { for: "reset-code" }, t("reset.code")),
      code,
      h("label", { for: "reset-password" }, t("reset.new_password")),
      password,
      message,
      submit,
    ),
  );
}

function errorMessage(st: LoginState, now: number): string {
  if (st.waitUntil > now) return t("login.wait", { s: String(Math.ceil((st.waitUntil - now) / 1000)) });
  if (!st.error) return "";
  return "key" in st.error ? t(st.error.key) : errorText(st.error.err);
}

export function renderLogin(st: LoginState, langSwitch: HTMLElement, onSignedIn: (user: User) => void): HTMLElement {
  const username = h("input", {
    id: "login-username",
    testid: "login-username",
    name: "username",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
    required: true,
    value: st.username,
  });
  const password = h("input", {
    id: "login-password",
    testid: "login-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const errorBox = h("p", { class: "error", testid: "login-error", role: "alert", "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "primary", testid: "login-submit" }, t("login.submit"));
  let timer: ReturnType<typeof setInterval> | null = null;

  const refresh = () => {
    const now = Date.now();
    const msg = errorMessage(st, now);
    errorBox.textContent = msg;
    errorBox.hidden = msg === "";
    const waiting = st.waitUntil > now;
    submit.disabled = st.busy || waiting;
    submit.textContent = st.busy ? t("login.submitting") : t("login.submit");
    if (waiting && !timer) {
      timer = setInterval(() => {
        if (!errorBox.isConnected) {
          if (timer) clearInterval(timer);
          timer = null;
          return;
        }
        if (Date.now() >= st.waitUntil) {
          if (timer) clearInterval(timer);
          timer = null;
          st.waitUntil = 0;
          st.error = null;
        }
        refresh();
      }, 1000);
    }
  };

  const form = h(
    "form",
    {
      class: "login-form",
      novalidate: true,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        st.username = username.value;
        if (st.busy || st.waitUntil > Date.now()) return;
        if (!username.value.trim() || !password.value) {
          st.error = { key: "login.empty" };
          refresh();
          (username.value.trim() ? password : username).focus();
          return;
        }
        st.busy = true;
        st.error = null;
        refresh();
        try {
          const r = await login(username.value.trim(), password.value);
          st.busy = false;
          onSignedIn(r.user);
        } catch (err) {
          st.busy = false;
          st.error = { err };
          if (err instanceof ApiError && err.status === 429) st.waitUntil = Date.now() + (err.retryAfter ?? 60) * 1000;
          password.value = "";
          refresh();
          password.focus();
        }
      },
    },
    h("h1", null, t("login.title")),
    h("p", { class: "muted" }, t("login.intro")),
    h("label", { for: "login-username" }, t("login.username")),
    username,
    h("label", { for: "login-password" }, t("login.password")),
    password,
    errorBox,
    submit,
  );
  refresh();
  username.addEventListener("input", () => (st.username = username.value));
  const done = h("p", { class: "note", testid: "reset-done", role: "status", hidden: true }, t("reset.done"));
  const reset = renderReset(st.username, (name) => {
    username.value = name;
    st.username = name;
    done.hidden = false;
    (reset as HTMLDetailsElement).open = false;
    password.focus();
  });
  return h(
    "div",
    { class: "login-screen" },
    h("header", { class: "topbar" }, h("div", { class: "brand" }, "Doorstep"), langSwitch),
    h("main", { class: "login-main" }, done, form, reset),
  );
}
