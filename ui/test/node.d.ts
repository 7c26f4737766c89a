// The little of Node the tests use (the UI itself runs in a browser, so the project has no Node
// types): reading a source file beside them.
declare module "node:fs" {
  export function readFileSync(path: string, encoding: "utf8"): string;
}
declare const process: { cwd(): string };
