import { afterEach, describe, expect, it } from "vitest";
import { setLang } from "../src/i18n";
import { dueAgain } from "../src/screens/lists";

afterEach(() => setLang("vi"));

describe("due again", () => {
  // 2020-08-03 10:00 in Vietnam (UTC+7).
  const now = Date.UTC(2020, 7, 3, 3, 0);
  const hour = 3_600_000;

  it("says when a household not yet due is due again, in the campaign's time zone", () => {
    setLang("vi");
    expect(dueAgain({ revisit_due: false, revisit_due_at_ms: now + 4.5 * hour }, now, 420)).toBe("Thăm lại từ 14:30");
    setLang("en");
    expect(dueAgain({ revisit_due: false, revisit_due_at_ms: now + 4.5 * hour }, now, 420)).toBe("Due again at 14:30");
    // Another day: with its date.
    expect(dueAgain({ revisit_due: false, revisit_due_at_ms: now + 48 * hour }, now, 420)).toBe("Due again at 10:00 05/08/2020");
  });

  it("says nothing for a household due now or not to be revisited", () => {
    expect(dueAgain({ revisit_due: true, revisit_due_at_ms: now - hour }, now, 420)).toBeNull();
    expect(dueAgain({ revisit_due: false, revisit_due_at_ms: now }, now, 420)).toBeNull();
    expect(dueAgain({ revisit_due: false, revisit_due_at_ms: null }, now, 420)).toBeNull();
    expect(dueAgain({ revisit_due: false }, now, 420)).toBeNull();
  });
});
