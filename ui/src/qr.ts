// Reading an enrolment code from a photo of its QR. The platform's BarcodeDetector when there is
// one (Chrome-based Android web views), else jsQR (bundled, loaded only when needed).

type Detector = { detect(src: ImageBitmapSource): Promise<{ rawValue: string }[]> };
type DetectorCtor = new (o?: { formats: string[] }) => Detector;

export type QrResult = { ok: true; text: string } | { ok: false; reason: "not_found" | "unsupported" };

async function loadImage(file: Blob): Promise<CanvasImageSource & { width: number; height: number }> {
  if (typeof createImageBitmap === "function") return createImageBitmap(file);
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

export async function decodeQr(file: Blob): Promise<QrResult> {
  const BD = (globalThis as unknown as { BarcodeDetector?: DetectorCtor }).BarcodeDetector;
  let image: (CanvasImageSource & { width: number; height: number }) | null = null;
  try {
    image = await loadImage(file);
  } catch {
    return { ok: false, reason: "not_found" };
  }
  if (BD) {
    try {
      const found = await new BD({ formats: ["qr_code"] }).detect(image);
      if (found.length > 0 && found[0].rawValue) return { ok: true, text: found[0].rawValue };
    } catch {
      // fall through to jsQR
    }
  }
  const canvas = document.createElement("canvas");
  // Phone photos are large: a QR fills enough of them to read at 1024 px, and it is much faster.
  const scale = Math.min(1, 1024 / Math.max(image.width, image.height));
  canvas.width = Math.max(1, Math.round(image.width * scale));
  canvas.height = Math.max(1, Math.round(image.height * scale));
  let ctx: CanvasRenderingContext2D | null = null;
  try {
    ctx = canvas.getContext("2d", { willReadFrequently: true }) as CanvasRenderingContext2D | null;
  } catch {
    ctx = null;
  }
  if (!ctx) return { ok: false, reason: "unsupported" };
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const { default: jsQR } = await import("jsqr");
  const code = jsQR(data.data, data.width, data.height, { inversionAttempts: "attemptBoth" });
  return code && code.data ? { ok: true, text: code.data } : { ok: false, reason: "not_found" };
}
