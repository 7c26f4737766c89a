// The eight compass points in Vietnamese and English ("44 m về phía Đông Bắc"), written once for
// the field app and the dashboard as MapLibre's words are (`maplocale.ts`); each app's
// dictionary takes them as its `dir.*` keys.

import type { Compass } from "./location";

type Words = Record<`dir.${Compass}`, string>;

export const COMPASS_WORDS: { vi: Words; en: Words } = {
  vi: {
    "dir.n": "Bắc",
    "dir.ne": "Đông Bắc",
    "dir.e": "Đông",
    "dir.se": "Đông Nam",
    "dir.s": "Nam",
    "dir.sw": "Tây Nam",
    "dir.w": "Tây",
    "dir.nw": "Tây Bắc",
  },
  en: {
    "dir.n": "north",
    "dir.ne": "north-east",
    "dir.e": "east",
    "dir.se": "south-east",
    "dir.s": "south",
    "dir.sw": "south-west",
    "dir.w": "west",
    "dir.nw": "north-west",
  },
};
