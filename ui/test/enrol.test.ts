import { afterEach, describe, expect, it } from "vitest";
import { $, must, start, tap, waitFor, type Harness } from "./helpers";

let hs: Harness | null = null;
afterEach(() => {
  hs?.app.destroy();
  hs = null;
});

describe("enrolment", () => {
  it("from a link the system hands over: the form is filled, and the volunteer still taps Enrol", async () => {
    hs = await start({ enrolled: false, settings: { server: "https://other.example.vn" } });
    // Not an enrolment link, or a server that is not http(s): nothing happens.
    hs.fake.openLink("https://example.org/enrol?server=http://10.0.0.5:8080&code=K7M2Q9XB4T");
    hs.fake.openLink("doorstep://enrol?server=file%3A%2F%2F%2Fetc&code=K7M2Q9XB4T");
    expect($(hs.root, "enrol-from-link")).toBeNull();
    hs.fake.openLink("doorstep://enrol?server=http%3A%2F%2F10.0.0.5%3A8080&code=k7m2q9xb4t");
    await waitFor(() => $(hs!.root, "enrol-from-link"), "the link's banner");
    expect((must(hs.root, "enrol-server") as HTMLInputElement).value).toBe("http://10.0.0.5:8080");
    expect((must(hs.root, "enrol-code") as HTMLInputElement).value).toBe("K7M2Q-9XB4T");
    expect(hs.fake.calls.some((c) => c.cmd === "enrol")).toBe(false);
    tap(hs, "enrol-submit");
    await waitFor(() => $(hs!.root, "home"), "home");
    const call = hs.fake.calls.find((c) => c.cmd === "enrol");
    expect(call?.args).toEqual({ server: "http://10.0.0.5:8080", code: "K7M2Q-9XB4T", ca: null });
  });

  it("a card of a province with its own CA: the certificate travels with the link to the enrolment", async () => {
    hs = await start({ enrolled: false });
    const pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----";
    const q = new URLSearchParams({ server: "https://doorstep.hatinh.vn", code: "K7M2Q9XB4T", ca: pem });
    hs.fake.openLink(`doorstep://enrol?${q.toString()}`);
    await waitFor(() => $(hs!.root, "enrol-ca-from-link"), "the certificate's note");
    expect((must(hs.root, "enrol-ca") as HTMLTextAreaElement).value).toBe(pem);
    expect(must(hs.root, "enrol-ca-box").hasAttribute("open")).toBe(true);
    tap(hs, "enrol-submit");
    await waitFor(() => $(hs!.root, "home"), "home");
    expect(hs.fake.enrolCa()).toBe(pem);
  });

  it("a pasted certificate that is not one is refused with words, and nothing else is lost", async () => {
    hs = await start({ enrolled: false });
    const input = (id: string, v: string) => {
      const el = must(hs!.root, id) as HTMLInputElement | HTMLTextAreaElement;
      el.value = v;
      el.dispatchEvent(new Event("input"));
    };
    input("enrol-server", "https://doorstep.hatinh.vn");
    input("enrol-code", "K7M2Q-9XB4T");
    input("enrol-ca", "not a certificate");
    tap(hs, "enrol-submit");
    const e = await waitFor(() => $(hs!.root, "enrol-error"), "the error");
    expect(e.textContent).toContain("Chứng chỉ của máy chủ không đọc được");
    expect((must(hs.root, "enrol-code") as HTMLInputElement).value).toBe("K7M2Q-9XB4T");
  });

  it("from a link on an enrolled phone: not used, and it says so", async () => {
    hs = await start({});
    hs.fake.openLink("doorstep://enrol?server=http%3A%2F%2F10.0.0.5%3A8080&code=K7M2Q9XB4T");
    const toast = await waitFor(() => $(hs!.root, "toast"), "the toast");
    expect(toast.textContent).toBe("Điện thoại này đã đăng ký; đường dẫn đăng ký không được dùng.");
    expect($(hs.root, "enrol")).toBeNull();
  });

  it("by the camera: where there is none, it says so and the photo route and typing stay", async () => {
    hs = await start({ enrolled: false });
    tap(hs, "enrol-camera");
    await waitFor(() => must(hs!.root, "enrol-scan-note").textContent?.includes("Không mở được camera"), "the note");
    expect(must(hs.root, "enrol-camera").textContent).toBe("Quét mã QR bằng camera");
    expect($(hs.root, "enrol-qr")).not.toBeNull();
  });
});
