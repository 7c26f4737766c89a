// The field app's outcome colours and WebGL check (ui/src/colors.ts), so that a dot means the
// same on a phone and on the dashboard: one palette, not two copies.
export * from "../../src/colors";
