// Every string the dashboard shows, in Vietnamese (first) and English. The key type is the union
// of the Vietnamese keys and the English table must have exactly those keys (a missing translation
// is a type error); test/i18n.test.ts checks the same at run time, and that none is empty.
// Placeholders are written {name}. The chosen language is remembered in localStorage.

import type { Lang, Messages } from "./types";

const vi = {
  "app.title": "Doorstep — Bảng điều khiển",
  "app.loading": "Đang tải…",
  "app.network": "Không kết nối được máy chủ. Hãy kiểm tra mạng rồi thử lại.",
  "app.server_error": "Máy chủ trả lỗi {status}.",
  "app.retry": "Thử lại",
  "app.none": "—",
  "lang.vi": "Tiếng Việt",
  "lang.en": "English",
  "lang.label": "Ngôn ngữ",

  "login.title": "Đăng nhập",
  "login.intro": "Dành cho tổ trưởng và cán bộ ban chỉ đạo chiến dịch cài đặt Bluezone.",
  "login.username": "Tên đăng nhập",
  "login.password": "Mật khẩu",
  "login.submit": "Đăng nhập",
  "login.submitting": "Đang đăng nhập…",
  "login.empty": "Hãy nhập tên đăng nhập và mật khẩu.",
  "login.wait": "Đăng nhập sai quá nhiều lần. Hãy đợi {s} giây rồi thử lại.",
  "login.expired": "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.",

  "role.admin": "Quản trị",
  "role.committee": "Ban chỉ đạo",
  "role.leader": "Tổ trưởng",
  "role.volunteer": "Tình nguyện viên",
  "header.logout": "Đăng xuất",
  "header.get_app": "Cài {app}:",
  "header.account": "Tài khoản",

  "crumb.label": "Địa bàn",
  "crumb.all": "Toàn bộ",

  "cards.visited": "Hộ đã thăm",
  "cards.visited_note": "có ít nhất một lượt thăm",
  "cards.households_with_app": "Hộ đã có {app}",
  "cards.households_with_app_note": "lần thăm gần nhất ghi đã cài",
  "cards.known": "Hộ đã biết",
  "cards.smartphones": "Điện thoại thông minh đã gặp",
  "cards.installs": "Máy đã có {app}",
  "cards.installs_note": "tại các hộ đã thăm",
  "cards.found_coverage": "Độ phủ trên số hộ đã gặp",
  "cards.found_coverage_note": "{visited} hộ đã thăm / {known} hộ đã biết",
  "cards.target_coverage": "Độ phủ trên số hộ mục tiêu",
  "cards.target_coverage_note": "{visited} hộ đã thăm / {target} hộ mục tiêu",
  "cards.install_rate_seen": "Tỷ lệ cài trên số điện thoại thông minh đã gặp",
  "cards.install_rate_seen_note": "{with} máy có {app} / {seen} điện thoại thông minh đã gặp",
  "cards.install_rate_owners": "Tỷ lệ cài trên số người có điện thoại thông minh (mục tiêu)",
  "cards.install_rate_owners_note": "{with} máy có {app} / {owners} người có điện thoại thông minh (mục tiêu)",
  "cards.no_target_households": "Chưa có số hộ mục tiêu của địa bàn này; ban chỉ đạo nhập bằng lệnh doorstep admin import-targets.",
  "cards.no_target_owners": "Chưa có số người có điện thoại thông minh (mục tiêu) của địa bàn này; ban chỉ đạo nhập bằng lệnh doorstep admin import-targets.",
  "targets.partial": "Mục tiêu chỉ gồm {n}/{m} địa bàn cấp dưới: chưa tính tỷ lệ trên mục tiêu cho đến khi đủ.",
  "targets.partial_short": "mục tiêu gồm {n}/{m} địa bàn",
  "cards.visits": "Lượt thăm",
  "cards.visits_note": "kể cả thăm lại",
  "cards.known_note": "trong danh sách hộ",
  "cards.smartphones_note": "tại các hộ đã thăm",

  "map.title": "Bản đồ bao phủ",
  "map.unavailable": "Máy này không vẽ được bản đồ (trình duyệt không hỗ trợ WebGL). Các phần khác của trang vẫn dùng được.",
  "map.loading": "Đang tải bản đồ…",
  "map.empty": "Chưa có ranh giới hay hộ có vị trí để vẽ ở địa bàn này.",
  "map.truncated": "Chỉ hiện {n} hộ đầu tiên; hãy chọn địa bàn nhỏ hơn để xem đủ.",
  "map.zoom_hint": "Phóng to để xem từng hộ.",
  "map.click_hint": "Bấm vào một đơn vị để xem chi tiết.",
  "map.legend_coverage": "Độ phủ trên số hộ đã gặp (hộ đã thăm / hộ đã biết)",
  "map.legend_outcome": "Kết quả lần thăm gần nhất",
  "map.unvisited": "Chưa thăm",
  "map.revisit_ring": "Có viền đen: cần thăm lại",
  "map.filter": "Lọc hộ theo kết quả",
  "map.tooltip": "{name}: độ phủ trên số hộ đã gặp {p}",
  "map.hex_tooltip": "{visited}/{known} hộ đã thăm: độ phủ trên số hộ đã gặp {p}",
  "map.venue_tooltip": "{name}: {visits} lượt thăm, {people} người được tuyên truyền, {installs} máy cài mới",
  "legend.venue": "Cơ sở (cơ quan, trường học, kinh doanh, bến xe)",
  "filters.title": "Lọc bản đồ",
  "filters.from": "Lượt thăm từ ngày",
  "filters.to": "Đến ngày",
  "filters.bad_range": "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.",
  "filters.team": "Đội",
  "filters.all_teams": "Tất cả các đội",
  "filters.layers": "Thu nhỏ: ô lục giác tô màu theo bao phủ. Phóng to: từng hộ.",
  "exports.title": "Tải dữ liệu địa bàn đang xem, theo bộ lọc:",
  "exports.households_csv": "Hộ (CSV)",
  "exports.households_geojson": "Hộ (GeoJSON)",
  "exports.visits_csv": "Lượt thăm (CSV)",
  "exports.visits_geojson": "Lượt thăm (GeoJSON)",
  "exports.downloading": "Đang tải…",
  "exports.done": "Đã tải {file}.",
  "popup.no_address": "(chưa có địa chỉ)",
  "popup.outcome": "Kết quả gần nhất: {o}",
  "popup.visits": "Số lượt thăm: {n}",
  "popup.revisit": "Cần thăm lại",
  "household.no_visits": "Chưa có lượt thăm nào trong địa bàn của tài khoản.",
  "household.counts": "{people} người · {phones} điện thoại thông minh · {app} có ứng dụng",
  "household.revised": "Đã sửa (bản {n})",
  "household.sent_back_open": "{by} gửi trả lúc {when}, chờ tình nguyện viên sửa:",
  "household.sent_back_done": "{by} đã gửi trả; đã sửa ở bản {n}:",
  "sendback.comment": "Ghi chú cho tình nguyện viên",
  "sendback.placeholder": "Cần kiểm tra hoặc sửa gì?",
  "sendback.button": "Gửi trả để sửa",
  "sendback.empty": "Hãy viết ghi chú: tình nguyện viên cần biết phải sửa gì.",
  "sendback.too_long": "Ghi chú dài quá {max} ký tự.",

  "settings.title": "Ngưỡng màu bao phủ",
  "settings.low": "Đỏ khi dưới (%)",
  "settings.high": "Vàng khi dưới (%), xanh từ mức này",
  "settings.save": "Áp dụng",
  "settings.reset": "Về mặc định",
  "settings.invalid": "Ngưỡng phải từ 0 đến 100 và ngưỡng đỏ không lớn hơn ngưỡng vàng.",
  "legend.red": "Dưới {a}",
  "legend.amber": "Từ {a} đến dưới {b}",
  "legend.green": "Từ {b} trở lên",
  "legend.none": "Chưa có hộ",

  "progress.title": "Tiến độ",
  "progress.from": "Từ ngày",
  "progress.to": "Đến ngày",
  "progress.bad_range": "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.",
  "venues.title": "Cơ sở đã đến",
  "venues.hint": "Cơ quan, trường học, cơ sở kinh doanh và đầu mối giao thông đã được thăm (tính đến ngày cuối của khoảng), theo đơn vị.",
  "venues.empty": "Chưa có lượt thăm cơ sở nào trong địa bàn này.",
  "venues.unit": "Đơn vị",
  "venues.total": "Tổng cộng",
  "venues.group.agency": "Cơ quan",
  "venues.group.school": "Trường học",
  "venues.group.business": "Kinh doanh",
  "venues.group.transport_hub": "Giao thông",
  "venues.people_reached": "Người được tuyên truyền",
  "venues.installed_now": "Cài mới",
  "venues.notices_posted": "Thông báo đã dán",
  "venues.log": "Sổ ra vào: đến / tuyên truyền / cài",
  "units.title": "Các đơn vị trực thuộc",
  "units.rank": "Hạng",
  "units.name": "Đơn vị",
  "units.known": "Hộ đã biết",
  "units.visited": "Hộ đã thăm",
  "units.coverage": "Độ phủ trên số hộ đã gặp",
  "units.smartphones": "Điện thoại thông minh",
  "units.with_app": "Đã có ứng dụng",
  "units.install_rate": "Tỷ lệ cài trên số ĐTTM đã gặp",
  "units.target_households": "Số hộ mục tiêu",
  "units.target_coverage": "Độ phủ trên số hộ mục tiêu",
  "units.install_rate_owners": "Tỷ lệ cài trên số người có ĐTTM (mục tiêu)",
  "units.no_target": "Chưa có mục tiêu",
  "units.empty": "Địa bàn này không có đơn vị trực thuộc.",
  "units.hint": "Xếp hạng theo tỷ lệ cài trên số điện thoại thông minh. Bấm tiêu đề cột để sắp xếp; bấm tên đơn vị để xem chi tiết.",
  "units.open": "Xem {name}",
  "chart.title": "Diễn biến theo ngày",
  "chart.households": "Hộ được thăm trong ngày",
  "chart.installs": "Máy cài mới, cộng dồn",
  "chart.empty": "Chưa có lượt thăm nào trong khoảng ngày này.",
  "chart.point": "{date}: {households} hộ được thăm; cộng dồn {installs} máy cài mới",
  "chart.aria": "Biểu đồ số hộ được thăm mỗi ngày và số máy cài mới cộng dồn",

  "revisits.title": "Danh sách thăm lại",
  "revisits.print": "In danh sách",
  "revisits.count": "{n} hộ cần thăm lại (vắng nhà, từ chối, cài được một phần).",
  "revisits.empty": "Không có hộ nào cần thăm lại.",
  "revisits.more": "Chỉ hiện {shown} trên {n} hộ; hãy chọn địa bàn nhỏ hơn để in.",
  "revisits.area": "Địa bàn",
  "revisits.address": "Địa chỉ",
  "revisits.outcome": "Kết quả gần nhất",
  "revisits.visits": "Số lượt",
  "revisits.done": "Đã thăm lại",
  "revisits.printed": "In ngày {date}",

  "flagged.title": "Lượt thăm cần kiểm tra",
  "flagged.intro": "Các lượt thăm được lưu nhưng có điểm cần tổ trưởng xem lại (100 lượt gần nhất).",
  "flagged.empty": "Không có lượt thăm nào bị đánh dấu.",
  "flagged.time": "Thời gian",
  "flagged.area": "Địa bàn",
  "flagged.volunteer": "Tình nguyện viên",
  "flagged.outcome": "Kết quả",
  "flagged.accuracy": "Sai số vị trí",
  "flagged.why": "Lý do cần kiểm tra",
  "flagged.meters": "{n} m",
  "flag.outside_assignment": "Ngoài địa bàn được giao: hộ này không thuộc địa bàn phân công cho tình nguyện viên.",
  "flag.other_volunteer": "Khác người: lượt thăm ghi tên một tình nguyện viên khác với người đã đăng ký điện thoại.",
  "flag.unknown": "Cờ khác: {code}",
  "flag.poor_accuracy": "Vị trí kém chính xác: sai số GPS lớn hơn ngưỡng của chiến dịch.",
  "flag.far_from_household": "Xa hộ: lượt thăm được ghi cách vị trí đã biết của hộ hơn 100 m.",
  "flag.outside_area": "Ngoài ranh giới: vị trí nằm ngoài ranh giới đã nhập của địa bàn.",
  "flag.implausible_speed": "Di chuyển quá nhanh: từ lượt thăm trước đến lượt này phải đi nhanh hơn 60 km/h.",
  "flag.burst": "Quá dồn dập: chưa đầy 30 giây sau lượt thăm trước của cùng tình nguyện viên.",
  "flag.revoked_device": "Gửi từ điện thoại đã bị thu hồi (trước khi máy tự xoá dữ liệu): hãy kiểm tra.",
  "flag.overlap": "Hai tình nguyện viên cùng thăm hộ này trong thời gian giữ: kiểm tra và thống nhất ai theo tiếp.",

  "people.title": "Tình nguyện viên và thiết bị",
  "people.devices": "Thiết bị",
  "people.devices_intro": "Điện thoại của các tình nguyện viên thuộc địa bàn này và lần đồng bộ gần nhất. Máy đang dùng mà quá {h} giờ chưa đồng bộ được ghi «Mất liên lạc» và xếp lên đầu.",
  "people.stale_hours": "Mất liên lạc sau (giờ)",
  "people.apply": "Áp dụng",
  "people.stale_invalid": "Ngưỡng phải là số giờ nguyên từ 1 đến 720.",
  "people.stale_count": "{n} trên {total} thiết bị mất liên lạc.",
  "people.no_devices": "Chưa có điện thoại nào được đăng ký cho tình nguyện viên của địa bàn này.",
  "people.col_status": "Tình trạng",
  "people.col_volunteer": "Tình nguyện viên",
  "people.col_device": "Thiết bị",
  "people.col_last_sync": "Đồng bộ gần nhất",
  "people.col_flagged": "Lượt cần kiểm tra",
  "people.col_clock": "Lệch đồng hồ",
  "people.status_stale": "⚠ Mất liên lạc",
  "people.status_ok": "Bình thường",
  "people.status_revoked": "Đã thu hồi",
  "people.never": "Chưa đồng bộ lần nào",
  "people.ago_minutes": "{n} phút trước",
  "people.ago_hours": "{n} giờ trước",
  "people.ago_days": "{n} ngày trước",
  "people.clock_minutes": "{n} phút",
  "people.daily": "Lượt thăm theo ngày của từng tình nguyện viên",
  "people.daily_intro": "Theo ngày trên điện thoại, trong khoảng ngày đã chọn ở phần Tiến độ.",
  "people.no_days": "Chưa có lượt thăm nào trong khoảng ngày này.",
  "people.col_date": "Ngày",
  "people.col_visits": "Lượt thăm",
  "people.col_households": "Hộ",
  "people.col_installs": "Cài ngay",
  "people.unknown_volunteer": "Chưa rõ ({id})",
  "people.total": "Cộng",

  "report.title": "Báo cáo ngày",
  "report.intro": "Bảng tính (XLSX) tổng hợp địa bàn đang xem cho ngày đã chọn.",
  "report.date": "Ngày báo cáo",
  "report.download": "Tải XLSX",
  "report.downloading": "Đang tải…",
  "report.done": "Đã tải {file}.",
  "report.no_date": "Hãy chọn ngày báo cáo.",

  "photos.title": "Ảnh hoạt động",
  "photos.intro": "Ảnh báo cáo ngày và ảnh lượt thăm của địa bàn đang xem, theo ngày chụp trên điện thoại.",
  "photos.none": "Không có ảnh nào trong ngày này.",
  "photos.reports": "Báo cáo ngày",
  "photos.visits": "Lượt thăm",
  "photos.kind_day": "Báo cáo ngày",
  "photos.kind_visit": "Lượt thăm hộ",
  "photos.kind_venue": "Lượt thăm cơ sở",
  "photos.incomplete": "Đang tải lên…",
  "photos.close": "Đóng",

  "outcome.installed_now": "Đã cài ngay",
  "outcome.already_installed": "Đã cài từ trước",
  "outcome.refused": "Từ chối",
  "outcome.not_home": "Vắng nhà",
  "outcome.no_smartphone": "Không có điện thoại thông minh",
  "outcome.unsupported_phone": "Máy không hỗ trợ",
  "outcome.partial": "Cài được một phần",
};

export type Key = keyof typeof vi;

const en: Record<Key, string> = {
  "app.title": "Doorstep — Dashboard",
  "app.loading": "Loading…",
  "app.network": "Cannot reach the server. Check the network and try again.",
  "app.server_error": "The server answered with error {status}.",
  "app.retry": "Try again",
  "app.none": "—",
  "lang.vi": "Tiếng Việt",
  "lang.en": "English",
  "lang.label": "Language",

  "login.title": "Sign in",
  "login.intro": "For team leaders and committee staff of the Bluezone installation campaign.",
  "login.username": "Username",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.submitting": "Signing in…",
  "login.empty": "Enter your username and password.",
  "login.wait": "Too many failed sign-ins. Wait {s} seconds, then try again.",
  "login.expired": "Your session has expired. Please sign in again.",

  "role.admin": "Administrator",
  "role.committee": "Committee",
  "role.leader": "Team leader",
  "role.volunteer": "Volunteer",
  "header.logout": "Sign out",
  "header.get_app": "Get {app}:",
  "header.account": "Account",

  "crumb.label": "Area",
  "crumb.all": "Everything",

  "cards.visited": "Households visited",
  "cards.visited_note": "with at least one visit",
  "cards.households_with_app": "Households with {app}",
  "cards.households_with_app_note": "their latest visit found it installed",
  "cards.known": "Households known",
  "cards.smartphones": "Smartphones seen",
  "cards.installs": "Phones with {app}",
  "cards.installs_note": "in visited households",
  "cards.found_coverage": "Found coverage",
  "cards.found_coverage_note": "{visited} households visited of {known} known",
  "cards.target_coverage": "Target coverage",
  "cards.target_coverage_note": "{visited} households visited of {target} targeted",
  "cards.install_rate_seen": "Install rate of smartphones seen",
  "cards.install_rate_seen_note": "{with} phones with {app} of {seen} smartphones seen",
  "cards.install_rate_owners": "Install rate of smartphone owners targeted",
  "cards.install_rate_owners_note": "{with} phones with {app} of {owners} smartphone owners targeted",
  "cards.no_target_households": "No target households for this area yet; the committee imports them with doorstep admin import-targets.",
  "cards.no_target_owners": "No target number of smartphone owners for this area yet; the committee imports them with doorstep admin import-targets.",
  "targets.partial": "The target covers only {n} of {m} areas below: no rate against it until it covers them all.",
  "targets.partial_short": "target covers {n} of {m} areas",
  "cards.visits": "Visits",
  "cards.visits_note": "including revisits",
  "cards.known_note": "in the household list",
  "cards.smartphones_note": "in visited households",

  "map.title": "Coverage map",
  "map.unavailable": "This computer cannot draw the map (the browser has no WebGL). The rest of the page still works.",
  "map.loading": "Loading the map…",
  "map.empty": "No boundaries or located households to draw in this area yet.",
  "map.truncated": "Only the first {n} households are shown; choose a smaller area to see them all.",
  "map.zoom_hint": "Zoom in to see each household.",
  "map.click_hint": "Click a unit to open it.",
  "map.legend_coverage": "Found coverage (households visited / known)",
  "map.legend_outcome": "Latest visit's outcome",
  "map.unvisited": "Not visited",
  "map.revisit_ring": "Black ring: revisit due",
  "map.filter": "Filter households by outcome",
  "map.tooltip": "{name}: found coverage {p}",
  "map.hex_tooltip": "{visited} of {known} households visited: found coverage {p}",
  "map.venue_tooltip": "{name}: {visits} visit(s), {people} people reached, {installs} installed now",
  "legend.venue": "Venue (agency, school, business, station)",
  "filters.title": "Map filters",
  "filters.from": "Visits from",
  "filters.to": "To",
  "filters.bad_range": "The first day must be on or before the last.",
  "filters.team": "Team",
  "filters.all_teams": "All teams",
  "filters.layers": "Zoomed out: hexagons coloured by coverage. Zoomed in: each household.",
  "exports.title": "Download the area on screen, as filtered:",
  "exports.households_csv": "Households (CSV)",
  "exports.households_geojson": "Households (GeoJSON)",
  "exports.visits_csv": "Visits (CSV)",
  "exports.visits_geojson": "Visits (GeoJSON)",
  "exports.downloading": "Downloading…",
  "exports.done": "Downloaded {file}.",
  "popup.no_address": "(no address yet)",
  "popup.outcome": "Latest outcome: {o}",
  "popup.visits": "Visits: {n}",
  "popup.revisit": "Revisit due",
  "household.no_visits": "No visits in your account's areas yet.",
  "household.counts": "{people} people · {phones} smartphones · {app} with the app",
  "household.revised": "Corrected (revision {n})",
  "household.sent_back_open": "Sent back by {by} at {when}, waiting for the volunteer:",
  "household.sent_back_done": "Sent back by {by}; corrected in revision {n}:",
  "sendback.comment": "Note for the volunteer",
  "sendback.placeholder": "What should be checked or changed?",
  "sendback.button": "Send back to correct",
  "sendback.empty": "Write a note: the volunteer needs to know what to correct.",
  "sendback.too_long": "The note is longer than {max} characters.",

  "settings.title": "Coverage colour thresholds",
  "settings.low": "Red below (%)",
  "settings.high": "Amber below (%), green from here",
  "settings.save": "Apply",
  "settings.reset": "Defaults",
  "settings.invalid": "Thresholds must be between 0 and 100, and the red one may not exceed the amber one.",
  "legend.red": "Below {a}",
  "legend.amber": "{a} to below {b}",
  "legend.green": "{b} or more",
  "legend.none": "No households",

  "progress.title": "Progress",
  "progress.from": "From",
  "progress.to": "To",
  "progress.bad_range": "The start date must be on or before the end date.",
  "venues.title": "Venues visited",
  "venues.hint": "Agencies, schools, businesses and transport hubs visited (up to the last day of the range), by unit.",
  "venues.empty": "No venue visited in this area yet.",
  "venues.unit": "Unit",
  "venues.total": "Total",
  "venues.group.agency": "Agencies",
  "venues.group.school": "Schools",
  "venues.group.business": "Businesses",
  "venues.group.transport_hub": "Transport hubs",
  "venues.people_reached": "People reached",
  "venues.installed_now": "Installed now",
  "venues.notices_posted": "Notices posted",
  "venues.log": "Visitor log: in / told / installed",
  "units.title": "Units",
  "units.rank": "Rank",
  "units.name": "Unit",
  "units.known": "Households known",
  "units.visited": "Households visited",
  "units.coverage": "Found coverage",
  "units.smartphones": "Smartphones seen",
  "units.with_app": "With the app",
  "units.install_rate": "Install rate of smartphones seen",
  "units.target_households": "Target households",
  "units.target_coverage": "Target coverage",
  "units.install_rate_owners": "Install rate of smartphone owners targeted",
  "units.no_target": "No target",
  "units.empty": "This area has no units below it.",
  "units.hint": "Ranked by the share of smartphones with the app. Click a column heading to sort; click a unit's name to open it.",
  "units.open": "Open {name}",
  "chart.title": "Day by day",
  "chart.households": "Households visited that day",
  "chart.installs": "New installs, cumulative",
  "chart.empty": "No visits in this date range yet.",
  "chart.point": "{date}: {households} households visited; {installs} new installs so far",
  "chart.aria": "Chart of households visited per day and cumulative new installs",

  "revisits.title": "Revisit list",
  "revisits.print": "Print the list",
  "revisits.count": "{n} households to visit again (not at home, refused, some phones done).",
  "revisits.empty": "No household needs a revisit.",
  "revisits.more": "Only {shown} of {n} households are shown; choose a smaller area to print.",
  "revisits.area": "Area",
  "revisits.address": "Address",
  "revisits.outcome": "Latest outcome",
  "revisits.visits": "Visits",
  "revisits.done": "Revisited",
  "revisits.printed": "Printed on {date}",

  "flagged.title": "Visits to check",
  "flagged.intro": "Visits that were stored but that a team leader should look at (the latest 100).",
  "flagged.empty": "No flagged visits.",
  "flagged.time": "Time",
  "flagged.area": "Area",
  "flagged.volunteer": "Volunteer",
  "flagged.outcome": "Outcome",
  "flagged.accuracy": "Location accuracy",
  "flagged.why": "Why it is flagged",
  "flagged.meters": "{n} m",
  "flag.outside_assignment": "Outside the assignment: the household is not in an area assigned to the volunteer.",
  "flag.other_volunteer": "Another person: the visit names a volunteer other than the one the phone was enrolled for.",
  "flag.unknown": "Other flag: {code}",
  "flag.poor_accuracy": "Poor accuracy: the GPS error is larger than the campaign's threshold.",
  "flag.far_from_household": "Far from the household: recorded more than 100 m from where the household is known to be.",
  "flag.outside_area": "Outside the area: the location lies outside the area's imported boundary.",
  "flag.implausible_speed": "Implausible speed: coming here from the previous visit would take more than 60 km/h.",
  "flag.burst": "Too fast: less than 30 seconds after the same volunteer's previous visit.",
  "flag.revoked_device": "Sent by a revoked phone (before it erased its data): check it.",
  "flag.overlap": "Two volunteers visited this household within the claim time: check and agree who follows up.",

  "people.title": "Volunteers and devices",
  "people.devices": "Devices",
  "people.devices_intro": "Phones of this area's volunteers and their last sync. A live phone silent for more than {h} hours is marked “Stale” and listed first.",
  "people.stale_hours": "Stale after (hours)",
  "people.apply": "Apply",
  "people.stale_invalid": "The threshold must be a whole number of hours from 1 to 720.",
  "people.stale_count": "{n} of {total} devices stale.",
  "people.no_devices": "No phone is enrolled for this area's volunteers yet.",
  "people.col_status": "Status",
  "people.col_volunteer": "Volunteer",
  "people.col_device": "Device",
  "people.col_last_sync": "Last sync",
  "people.col_flagged": "Visits to check",
  "people.col_clock": "Clock off by",
  "people.status_stale": "⚠ Stale",
  "people.status_ok": "OK",
  "people.status_revoked": "Revoked",
  "people.never": "Never synced",
  "people.ago_minutes": "{n} minutes ago",
  "people.ago_hours": "{n} hours ago",
  "people.ago_days": "{n} days ago",
  "people.clock_minutes": "{n} min",
  "people.daily": "Visits per day by volunteer",
  "people.daily_intro": "By the phones' local dates, over the date range chosen in Progress.",
  "people.no_days": "No visits in this date range.",
  "people.col_date": "Date",
  "people.col_visits": "Visits",
  "people.col_households": "Households",
  "people.col_installs": "Installed now",
  "people.unknown_volunteer": "Unknown ({id})",
  "people.total": "Total",

  "report.title": "Daily report",
  "report.intro": "The workbook (XLSX) for the area on screen and the chosen day.",
  "report.date": "Report date",
  "report.download": "Download XLSX",
  "report.downloading": "Downloading…",
  "report.done": "Downloaded {file}.",
  "report.no_date": "Choose the report date.",

  "photos.title": "Photos",
  "photos.intro": "Daily activity reports and visit photos of the area shown, by the day they were taken on the phone.",
  "photos.none": "No photos on this day.",
  "photos.reports": "Daily reports",
  "photos.visits": "Visits",
  "photos.kind_day": "Daily report",
  "photos.kind_visit": "Household visit",
  "photos.kind_venue": "Venue visit",
  "photos.incomplete": "Uploading…",
  "photos.close": "Close",

  "outcome.installed_now": "Installed now",
  "outcome.already_installed": "Already installed",
  "outcome.refused": "Refused",
  "outcome.not_home": "Not at home",
  "outcome.no_smartphone": "No smartphone",
  "outcome.unsupported_phone": "Phone not supported",
  "outcome.partial": "Some phones done",
};

export const DICTIONARIES: Record<Lang, Record<Key, string>> = { vi, en };

const STORAGE_KEY = "doorstep.dashboard.lang";
let current: Lang = "vi";

/** The remembered language (Vietnamese unless English was chosen). */
export function loadLang(): Lang {
  try {
    current = localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "vi";
  } catch {
    current = "vi";
  }
  applyToDocument();
  return current;
}

export function getLang(): Lang {
  return current;
}

/** Sets and remembers the language of every later t() call and of the document. */
export function setLang(lang: Lang): void {
  current = lang === "en" ? "en" : "vi";
  try {
    localStorage.setItem(STORAGE_KEY, current);
  } catch {
    /* private mode: the choice lasts for the page */
  }
  applyToDocument();
}

function applyToDocument(): void {
  if (typeof document === "undefined") return;
  document.documentElement.lang = current;
  document.title = DICTIONARIES[current]["app.title"];
}

export function t(key: Key, params?: Record<string, string | number>): string {
  let s: string = DICTIONARIES[current][key] ?? DICTIONARIES.vi[key] ?? key;
  if (params) {
    for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(typeof v === "number" ? fmtNumber(v) : v);
  }
  return s;
}

/** A server message in the current language. */
export function pick(m: Messages | null | undefined): string {
  if (!m) return "";
  return m[current] || m.vi || m.en;
}

/** Numbers as written in the language: 1.234,5 in Vietnamese, 1,234.5 in English. */
export function fmtNumber(n: number, decimals = 0, lang: Lang = current): string {
  if (!Number.isFinite(n)) return DICTIONARIES[lang]["app.none"];
  const neg = n < 0;
  const fixed = Math.abs(n).toFixed(decimals);
  const [int, frac] = fixed.split(".");
  const group = lang === "vi" ? "." : ",";
  const point = lang === "vi" ? "," : ".";
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, group);
  return (neg && Number(fixed) !== 0 ? "-" : "") + grouped + (frac ? point + frac : "");
}

/** A rate (0..1) as a percentage: "65,8 %" / "65.8%"; a dash when there is none. */
export function fmtPercent(rate: number | null | undefined, lang: Lang = current): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return DICTIONARIES[lang]["app.none"];
  const n = fmtNumber(rate * 100, 1, lang);
  return lang === "vi" ? `${n} %` : `${n}%`;
}

/** A campaign day ("YYYY-MM-DD") as dd/mm/yyyy. */
export function fmtDay(day: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(day);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : day;
}

/** An instant as dd/mm/yyyy HH:MM in the campaign's time zone (a fixed offset, minutes). */
export function fmtDateTime(iso: string, offsetMin: number): string {
  const ms = new Date(iso).getTime();
  if (Number.isNaN(ms)) return iso;
  const d = new Date(ms + offsetMin * 60000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

/** Today ("YYYY-MM-DD") in the campaign's time zone. */
export function today(offsetMin: number, now: number = Date.now()): string {
  return new Date(now + offsetMin * 60000).toISOString().slice(0, 10);
}
