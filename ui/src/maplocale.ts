// MapLibre's own words (its controls' titles and labels) in Vietnamese and English: without them
// a Vietnamese page says "Zoom in". The field app and the dashboard both pass these to their maps.

const WORDS: Record<"vi" | "en", Record<string, string>> = {
  vi: {
    "NavigationControl.ZoomIn": "Phóng to",
    "NavigationControl.ZoomOut": "Thu nhỏ",
    "NavigationControl.ResetBearing": "Xoay về hướng bắc",
    "AttributionControl.ToggleAttribution": "Hiện hoặc ẩn nguồn dữ liệu bản đồ",
    "Popup.Close": "Đóng",
    "Map.Title": "Bản đồ",
    "Marker.Title": "Điểm đánh dấu",
  },
  en: {
    "NavigationControl.ZoomIn": "Zoom in",
    "NavigationControl.ZoomOut": "Zoom out",
    "NavigationControl.ResetBearing": "Reset bearing to north",
    "AttributionControl.ToggleAttribution": "Show or hide the map's sources",
    "Popup.Close": "Close",
    "Map.Title": "Map",
    "Marker.Title": "Map marker",
  },
};

/** MapLibre's `locale` option in `lang`. */
export function mapWords(lang: "vi" | "en"): Record<string, string> {
  return { ...WORDS[lang] };
}
