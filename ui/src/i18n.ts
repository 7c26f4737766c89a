// Every string the app shows, in Vietnamese (first) and English. The key type is the union of the
// Vietnamese keys, and the English table must have exactly those keys: a missing translation is a
// type error, and test/i18n.test.ts checks the same at run time (and that no string is empty).
// Placeholders are written {name}.

import type { Lang, Messages } from "./types";
import { COMPASS_WORDS } from "./compasswords";
import { mapWords } from "./maplocale";

const vi = {
  "app.title": "Doorstep",
  "app.loading": "Đang tải…",
  "app.load_failed": "Không tải được dữ liệu trên máy:",
  "app.retry": "Thử lại",
  "lang.vi": "Tiếng Việt",
  "lang.en": "English",

  "net.online": "Có mạng",
  "net.offline": "Mất mạng",
  "net.syncing": "Đang gửi {sent}/{total}",

  "nav.home": "Trang chủ",
  "nav.revisits": "Thăm lại",
  "nav.today": "Hôm nay",
  "nav.rejected": "Bị trả lại",
  "nav.settings": "Cài đặt",

  "enrol.title": "Đăng ký điện thoại",
  "enrol.intro": "Quét mã QR trên thẻ do tổ trưởng cấp, hoặc nhập mã đăng ký (dạng XXXXX-XXXXX).",
  "enrol.server": "Địa chỉ máy chủ",
  "enrol.code": "Mã đăng ký",
  "enrol.code_hint": "Chữ hoa hay chữ thường đều được; dấu gạch có thể bỏ.",
  "enrol.ca_more": "Nâng cao: chứng chỉ riêng của máy chủ",
  "enrol.ca_label": "Chứng chỉ CA của tỉnh (PEM)",
  "enrol.ca_hint": "Chỉ khi cán bộ kỹ thuật yêu cầu: máy chủ dùng chứng chỉ do tỉnh tự cấp. Thẻ đăng ký có thể đã kèm sẵn.",
  "enrol.ca_from_link": "Thẻ đăng ký đã kèm chứng chỉ của máy chủ.",
  "enrol.scan": "Đọc mã từ ảnh QR",
  "enrol.camera": "Quét mã QR bằng camera",
  "enrol.camera_stop": "Dừng quét",
  "enrol.camera_ok": "Đã quét mã: {code}",
  "enrol.camera_looking": "Đưa mã QR trên thẻ vào khung hình…",
  "enrol.camera_unsupported": "Không mở được camera; hãy chọn ảnh chụp mã QR hoặc nhập mã.",
  "enrol.from_link": "Đã nhận đường dẫn đăng ký: kiểm tra địa chỉ máy chủ rồi bấm Đăng ký.",
  "enrol.link_ignored": "Điện thoại này đã đăng ký; đường dẫn đăng ký không được dùng.",
  "enrol.scan_reading": "Đang đọc ảnh…",
  "enrol.scan_ok": "Đã đọc mã từ ảnh: {code}",
  "enrol.scan_failed": "Không thấy mã QR trong ảnh; hãy chụp lại rõ hơn hoặc nhập mã.",
  "enrol.scan_unsupported": "Máy này không đọc được ảnh mã QR; hãy nhập mã bằng tay.",
  "enrol.submit": "Đăng ký",
  "enrol.submitting": "Đang đăng ký…",
  "enrol.server_empty": "Hãy nhập địa chỉ máy chủ.",
  "enrol.code_empty": "Hãy nhập mã đăng ký.",
  "enrol.code_format": "Mã đăng ký gồm 10 chữ và số, dạng XXXXX-XXXXX.",
  "enrol.back": "Quay lại",
  "enrol.kept": "Các lượt thăm chưa gửi vẫn được giữ trên máy và sẽ được gửi sau khi đăng ký lại.",
  "enrol.wiped": "Điện thoại này đã bị thu hồi vào {at}; dữ liệu trên máy đã được gửi về máy chủ rồi xoá.",
  "enrol.wiped_detail": "{n} bản ghi đã được máy chủ nhận trước khi xoá (lúc {wiped}). Muốn dùng lại máy này, hãy xin tổ trưởng mã đăng ký mới.",
  "enrol.wiped_reason": "Lý do: {reason}",

  "home.area": "Địa bàn",
  "home.new_visit": "Ghé thăm hộ mới",
  "home.today": "Lượt thăm hôm nay",
  "home.revisits": "Hộ cần thăm lại",
  "home.revisits_others": "{n} hộ người khác phụ trách",
  "home.queue": "Dữ liệu trên máy",
  "home.queue_pending": "Chờ gửi",
  "home.queue_sent": "Đã gửi",
  "home.queue_rejected": "Bị trả lại",
  "home.last_sync": "Gửi thành công lần cuối: {when}",
  "home.never_synced": "Chưa gửi thành công lần nào",
  "home.sync_now": "Gửi ngay",
  "home.queue_photos": "Ảnh chờ gửi: {n} (đã gửi {sent}, bị trả lại {rejected})",
  "home.daily_report": "Báo cáo ngày",
  "photo.take": "Chụp ảnh",
  "photo.visit_title": "Ảnh của lượt thăm",
  "photo.report_title": "Báo cáo ngày {day}",
  "photo.caption": "Chú thích (không bắt buộc)",
  "photo.none": "Chưa có ảnh.",
  "photo.saving": "Đang lưu ảnh…",
  "photo.saved": "Đã lưu ảnh — sẽ gửi khi có mạng",
  "photo.state_pending": "Chờ gửi",
  "photo.state_sent": "Đã gửi",
  "photo.state_rejected": "Bị trả lại",
  "photo.done": "Xong",
  "home.map": "Bản đồ địa bàn",
  "home.saved": "Đã lưu — sẽ gửi khi có mạng",
  "home.saved_online": "Đã lưu trên máy",
  "home.saved_fix": "Đã lưu bản sửa — sẽ gửi khi có mạng",
  "home.saved_correction": "Đã lưu bản sửa theo yêu cầu của tổ trưởng — sẽ gửi khi có mạng",
  "home.corrections": "Tổ trưởng yêu cầu sửa {n} lượt thăm",
  "home.corrections_open": "Xem và sửa",
  "home.revoked": "Thiết bị đã bị thu hồi: {n} lượt thăm chưa gửi vẫn được giữ trên máy; hãy xin tổ trưởng mã đăng ký mới.",
  "home.auth_kept": "{n} lượt thăm chưa gửi vẫn được giữ trên máy.",
  "home.enrol_again": "Đăng ký lại",
  "home.revoked_wipe": "Điện thoại này đã bị thu hồi vào {at}: không ghi thêm được. Dữ liệu trên máy đang được gửi về máy chủ ({n} bản ghi chưa gửi), rồi sẽ bị xoá khỏi máy.",
  "home.revoked_reason": "Lý do: {reason}",
  "home.revoked_refused": "{n} bản ghi bị máy chủ trả lại vẫn được giữ trên máy: máy chỉ xoá dữ liệu khi các bản ghi này được sửa và gửi đi. Hãy đưa điện thoại cho tổ trưởng.",
  "home.revoked_refused_open": "Xem bản ghi bị trả lại",
  "home.clock": "Kiểm tra đồng hồ",
  "home.venues": "Cơ sở: cơ quan, trường học, kinh doanh, bến xe",
  "home.venues_pending": "{n} lượt thăm cơ sở chờ gửi",
  "venues.title": "Cơ sở",
  "venues.explain": "Cơ quan, trường học, khách sạn, nhà hàng, cửa hàng và bến xe, nhà ga, cảng trong địa bàn.",
  "venues.add": "Thêm cơ sở mới",
  "venues.empty": "Chưa có cơ sở nào trong địa bàn. Hãy thêm cơ sở đầu tiên.",
  "venues.visit": "Ghi lượt thăm",
  "venues.visits_here": "{n} lượt thăm trên máy này",
  "venues.rejected": "Lượt thăm cơ sở bị máy chủ trả lại",
  "venue.title_new": "Cơ sở mới",
  "venue.title_visit": "Thăm cơ sở",
  "venue.kind": "Loại cơ sở",
  "venue.name": "Tên cơ sở (như trên biển hiệu)",
  "venue.address": "Địa chỉ",
  "venue.area": "Địa bàn",
  "venue.people_reached": "Số người được tuyên truyền",
  "venue.smartphones": "Điện thoại thông minh",
  "venue.already_installed": "Máy đã có {app}",
  "venue.installed_now": "Máy cài {app} ngay",
  "venue.notices_posted": "Thông báo, hướng dẫn đã dán",
  "venue.log": "Sổ theo dõi người ra vào (từ lần thăm trước)",
  "venue.log_use": "Cơ sở có ghi sổ người ra vào",
  "venue.came_in": "Người đến",
  "venue.told": "Được tuyên truyền",
  "venue.installed": "Đã cài",
  "venue.notes": "Ghi chú",
  "venue.save": "Lưu lượt thăm cơ sở",
  "venue.saved": "Đã lưu lượt thăm cơ sở — sẽ gửi khi có mạng",
  "venue.kind.agency": "Cơ quan",
  "venue.kind.school": "Trường học",
  "venue.kind.hotel": "Khách sạn, nhà nghỉ",
  "venue.kind.restaurant": "Nhà hàng, quán ăn",
  "venue.kind.shop": "Cửa hàng",
  "venue.kind.business": "Doanh nghiệp khác",
  "venue.kind.transport_hub": "Bến xe, nhà ga, cảng",

  "time.just_now": "vừa xong",
  "time.minutes": "{n} phút trước",
  "time.hours": "{n} giờ trước",
  "time.days": "{n} ngày trước",

  "map.unvisited": "Chưa thăm",
  "map.here": "Bạn đang ở đây (chạm vào một hộ để thăm)",
  "map.revisit": "Cần thăm lại (viền đen)",
  "map.unavailable": "Máy này không hiển thị được bản đồ.",
  "map.basemap_failed": "Không mở được bản đồ nền; chỉ hiện các hộ.",
  "map.no_basemap": "Chưa có bản đồ nền (đường phố): máy sẽ tự tải khi máy chủ có và có mạng. Các chấm vẫn đúng vị trí.",
  "map.basemap_downloading": "Đang tải bản đồ nền: {done}/{size} MB (tiếp tục khi có mạng).",
  "map.pin_hint": "Chạm vào bản đồ tại vị trí của hộ.",
  "map.pin_done": "Xong",

  "visit.title": "Lượt thăm mới",
  "visit.fix_title": "Sửa lượt thăm bị trả lại",
  "visit.fix_reason": "Lý do bị trả lại:",
  "visit.correct_title": "Sửa lượt thăm theo yêu cầu",
  "visit.correct_reason": "{by} yêu cầu:",
  "visit.locating": "Đang lấy vị trí…",
  "visit.loc_gps": "Vị trí GPS ±{m} m",
  "visit.loc_gps_unknown": "Vị trí GPS (không rõ độ chính xác)",
  "visit.loc_fixed": "Vị trí đặt sẵn",
  "visit.loc_manual": "Vị trí ghim trên bản đồ",
  "visit.loc_none": "Không có vị trí: có thể ghim trên bản đồ hoặc lưu không có vị trí.",
  "visit.loc_original": "Giữ vị trí của lượt thăm gốc",
  "visit.loc_retry": "Lấy lại vị trí",
  "visit.pin": "Ghim trên bản đồ",
  "visit.household": "Hộ gia đình",
  "visit.household_new": "Hộ mới (chưa có trong danh sách)",
  "visit.household_new_short": "Hộ mới",
  "visit.household_same": "Hộ của lượt thăm gốc",
  "visit.household_change": "Đổi",
  "visit.no_address": "Hộ chưa có địa chỉ",
  "visit.address": "Địa chỉ (số nhà, đường, thôn) — không bắt buộc",
  "visit.area": "Địa bàn",
  "visit.outcome": "Kết quả",
  "visit.choose_outcome": "Hãy chọn kết quả.",
  "count.people": "Số người trong hộ",
  "count.smartphones": "Điện thoại thông minh",
  "count.already_installed": "Máy đã có {app}",
  "count.installed_now": "Máy cài {app} ngay",
  "visit.less": "Bớt",
  "visit.more": "Thêm",
  "visit.reason": "Lý do",
  "visit.leaflet": "Đã phát tờ rơi",
  "visit.notes": "Ghi chú (không bắt buộc)",
  "visit.notes_hint": "Không ghi tên hay số điện thoại.",
  "visit.save": "Lưu",
  "visit.saving": "Đang lưu…",
  "visit.wait_location": "Đang chờ vị trí… Chạm lần nữa để lưu ngay",
  "visit.cancel": "Hủy",
  "visit.no_campaign": "Chưa có dữ liệu chiến dịch trên máy; hãy kết nối mạng để đồng bộ.",
  "visit.same_question": "Cùng hộ với {address}?",
  "visit.same_question_here": "Cùng hộ đã ghi ở chỗ này?",
  "visit.same_yes": "Đúng, hộ này",
  "visit.same_no": "Hộ mới",
  "visit.answer_household": "Hãy chọn: cùng hộ này hay hộ mới.",
  "visit.nearby_count": "{n} hộ gần đây",
  "visit.household_more": "Xem thêm {n} hộ",
  "visit.address_prompt": "Số nhà và đường, hoặc một mốc (vd. nhà cạnh chợ), để lần sau tìm lại",
  "visit.reason_other": "Khác",
  "visit.reason_other_hint": "Ghi lý do khác",
  "visit.outcome_change": "Đổi",
  "where.from": "{m} m về phía {dir}",
  "where.here": "ngay đây",
  "where.last": "thăm lần cuối {time}",
  ...COMPASS_WORDS.vi,

  "revisits.title": "Hộ cần thăm lại",
  "revisits.empty": "Không có hộ nào cần thăm lại.",
  "revisits.visits": "{n} lượt thăm",
  "revisits.visit": "Thăm",
  "revisits.due_at": "Thăm lại từ {time}",

  "claim.taken": "{name} đang phụ trách · đến {until}",
  "claim.someone": "Người khác",
  "claim.assigned": "Giao cho bạn",
  "claim.overlap": "Tổ trưởng sẽ thấy hai người cùng thăm hộ này.",
  "claims.title": "Giao cho bạn",
  "claims.household": "Một hộ",
  "claims.progress": "Đã thăm {visited}/{n} hộ",
  "claims.until": "Hết hạn {until} nếu không ghi thêm lượt thăm",

  "today.title": "Lượt thăm hôm nay",
  "today.empty": "Hôm nay chưa có lượt thăm nào.",
  "state.pending": "Chờ gửi",
  "state.sent": "Đã gửi",
  "state.rejected": "Bị trả lại",

  "rejected.title": "Lượt thăm bị trả lại",
  "rejected.explain": "Máy chủ không nhận các lượt thăm này. Hãy sửa và lưu lại; các lượt thăm khác vẫn được gửi bình thường.",
  "rejected.empty": "Không có lượt thăm nào bị trả lại.",
  "rejected.fix": "Sửa",
  "rejected.at": "Bị trả lại lúc {when}",
  "rejected.field": "Mục cần sửa: {field}",

  "corrections.title": "Lượt thăm cần sửa",
  "corrections.explain": "Tổ trưởng đã xem và gửi trả các lượt thăm này kèm ghi chú. Hãy sửa và lưu; bản cũ vẫn được giữ.",
  "corrections.empty": "Không có lượt thăm nào cần sửa.",
  "corrections.fix": "Sửa",
  "corrections.by": "{by} gửi trả lúc {when}",
  "corrections.visited": "Thăm lúc {when}",
  "corrections.answered": "Đã sửa, chờ gửi",
  "field.location": "Vị trí",
  "field.visited_at": "Thời gian thăm",

  "settings.title": "Cài đặt",
  "settings.language": "Ngôn ngữ",
  "settings.server": "Địa chỉ máy chủ",
  "settings.accuracy": "Ngưỡng độ chính xác vị trí (mét)",
  "settings.provider": "Nguồn vị trí",
  "settings.provider_auto": "Tự động (GPS của máy)",
  "settings.provider_fixed": "Vị trí đặt sẵn (thử nghiệm)",
  "settings.server_map_none": "Bản đồ nền của máy chủ: chưa có (máy chủ chưa nạp, hoặc máy chưa đồng bộ).",
  "settings.server_map_held": "Bản đồ nền của máy chủ: {name} — đã tải về máy ({size} MB), dùng được khi mất mạng.",
  "settings.server_map_downloading": "Bản đồ nền của máy chủ: {name} — đang tải {done}/{size} MB.",
  "settings.basemap": "Bản đồ nền khác (tệp .pmtiles, không bắt buộc)",
  "settings.basemap_hint": "Để trống: dùng bản đồ nền máy chủ gửi về (tự tải khi có mạng). Chỉ ghi khi có tệp riêng trong thư mục basemaps của ứng dụng.",
  "settings.save": "Lưu cài đặt",
  "settings.saved": "Đã lưu cài đặt.",
  "settings.sync": "Gửi dữ liệu",
  "settings.sync_now": "Gửi ngay",
  "settings.device": "Mã thiết bị",
  "settings.enrol_again": "Đăng ký lại điện thoại này",
} as const;

export type Key = keyof typeof vi;

const en: Record<Key, string> = {
  "app.title": "Doorstep",
  "app.loading": "Loading…",
  "app.load_failed": "Could not load the data on this phone:",
  "app.retry": "Try again",
  "lang.vi": "Tiếng Việt",
  "lang.en": "English",

  "net.online": "Online",
  "net.offline": "Offline",
  "net.syncing": "Sending {sent}/{total}",

  "nav.home": "Home",
  "nav.revisits": "Revisits",
  "nav.today": "Today",
  "nav.rejected": "Refused",
  "nav.settings": "Settings",

  "enrol.title": "Enrol this phone",
  "enrol.intro": "Scan the QR code on the card your team leader gave you, or type the enrolment code (XXXXX-XXXXX).",
  "enrol.server": "Server address",
  "enrol.code": "Enrolment code",
  "enrol.code_hint": "Upper or lower case; the dash is optional.",
  "enrol.ca_more": "Advanced: the server's own certificate",
  "enrol.ca_label": "The province's CA certificate (PEM)",
  "enrol.ca_hint": "Only when IT asks: the server uses a certificate the province issues itself. The enrolment card may carry it already.",
  "enrol.ca_from_link": "The enrolment card carried the server's certificate.",
  "enrol.scan": "Read the code from a QR image",
  "enrol.camera": "Scan the QR code with the camera",
  "enrol.camera_stop": "Stop scanning",
  "enrol.camera_ok": "Code scanned: {code}",
  "enrol.camera_looking": "Hold the card's QR code in the frame…",
  "enrol.camera_unsupported": "The camera could not be opened; pick a photo of the QR code or type the code.",
  "enrol.from_link": "Enrolment link received: check the server address, then tap Enrol.",
  "enrol.link_ignored": "This phone is already enrolled; the enrolment link was not used.",
  "enrol.scan_reading": "Reading the image…",
  "enrol.scan_ok": "Code read from the image: {code}",
  "enrol.scan_failed": "No QR code found in the image; take a clearer photo or type the code.",
  "enrol.scan_unsupported": "This phone cannot read QR images; please type the code.",
  "enrol.submit": "Enrol",
  "enrol.submitting": "Enrolling…",
  "enrol.server_empty": "Type the server address.",
  "enrol.code_empty": "Type the enrolment code.",
  "enrol.code_format": "An enrolment code has 10 letters and digits: XXXXX-XXXXX.",
  "enrol.back": "Back",
  "enrol.kept": "Your unsent visits stay on this phone and are sent once it is enrolled again.",
  "enrol.wiped": "This phone was revoked on {at}; its data was sent to the server, then erased.",
  "enrol.wiped_detail": "The server received {n} records before the erase (at {wiped}). To use this phone again, ask your team leader for a new enrolment code.",
  "enrol.wiped_reason": "Reason: {reason}",

  "home.area": "Area",
  "home.new_visit": "New visit",
  "home.today": "Visits today",
  "home.revisits": "Revisits due",
  "home.revisits_others": "{n} covered by someone else",
  "home.queue": "Records on this phone",
  "home.queue_pending": "Waiting",
  "home.queue_sent": "Sent",
  "home.queue_rejected": "Refused",
  "home.last_sync": "Last successful sync: {when}",
  "home.never_synced": "Not synced yet",
  "home.sync_now": "Sync now",
  "home.queue_photos": "Photos waiting: {n} (sent {sent}, refused {rejected})",
  "home.daily_report": "Daily report",
  "photo.take": "Take photo",
  "photo.visit_title": "Photos of the visit",
  "photo.report_title": "Daily report {day}",
  "photo.caption": "Caption (optional)",
  "photo.none": "No photos yet.",
  "photo.saving": "Saving the photo…",
  "photo.saved": "Photo saved — it will be sent when online",
  "photo.state_pending": "Waiting",
  "photo.state_sent": "Sent",
  "photo.state_rejected": "Refused",
  "photo.done": "Done",
  "home.map": "My area",
  "home.saved": "Saved — will send when online",
  "home.saved_online": "Saved on this phone",
  "home.saved_fix": "Correction saved — will send when online",
  "home.saved_correction": "Correction for your team leader saved — will send when online",
  "home.corrections": "Your team leader asks you to correct {n} visit(s)",
  "home.corrections_open": "See and correct",
  "home.revoked": "This phone was revoked: your {n} unsent visits are kept; ask your team leader for a new code.",
  "home.auth_kept": "Your {n} unsent visits are kept on this phone.",
  "home.enrol_again": "Enrol again",
  "home.revoked_wipe": "This phone was revoked on {at}: nothing more can be recorded. Its data is being sent to the server ({n} records not sent yet), then it will be erased from the phone.",
  "home.revoked_reason": "Reason: {reason}",
  "home.revoked_refused": "{n} records the server refused are kept on this phone: it erases its data only once they are fixed and sent. Hand the phone to your team leader.",
  "home.revoked_refused_open": "See the refused records",
  "home.clock": "Check the clock",
  "home.venues": "Venues: agencies, schools, businesses, stations",
  "home.venues_pending": "{n} venue visit(s) waiting to be sent",
  "venues.title": "Venues",
  "venues.explain": "Agencies, schools, hotels, restaurants, shops and bus stations, railway stations and ports in your area.",
  "venues.add": "Add a new venue",
  "venues.empty": "No venue in your area yet. Add the first one.",
  "venues.visit": "Record a visit",
  "venues.visits_here": "{n} visit(s) on this phone",
  "venues.rejected": "Venue visits the server refused",
  "venue.title_new": "New venue",
  "venue.title_visit": "Venue visit",
  "venue.kind": "Kind of venue",
  "venue.name": "Name (as on the sign)",
  "venue.address": "Address",
  "venue.area": "Area",
  "venue.people_reached": "People told about the app",
  "venue.smartphones": "Smartphones",
  "venue.already_installed": "Phones that already had {app}",
  "venue.installed_now": "Phones that installed {app} now",
  "venue.notices_posted": "Notices and instructions posted",
  "venue.log": "Visitor log (since the last visit)",
  "venue.log_use": "This venue keeps a visitor log",
  "venue.came_in": "Came in",
  "venue.told": "Told",
  "venue.installed": "Installed",
  "venue.notes": "Notes",
  "venue.save": "Save the venue visit",
  "venue.saved": "Venue visit saved — it will be sent when there is a network",
  "venue.kind.agency": "Agency",
  "venue.kind.school": "School",
  "venue.kind.hotel": "Hotel, guest house",
  "venue.kind.restaurant": "Restaurant, eatery",
  "venue.kind.shop": "Shop",
  "venue.kind.business": "Other business",
  "venue.kind.transport_hub": "Bus or railway station, port",

  "time.just_now": "just now",
  "time.minutes": "{n} min ago",
  "time.hours": "{n} h ago",
  "time.days": "{n} days ago",

  "map.unvisited": "Not visited",
  "map.here": "You are here (tap a household to visit it)",
  "map.revisit": "Revisit due (black ring)",
  "map.unavailable": "This phone cannot show the map.",
  "map.basemap_failed": "Could not open the base map; showing households only.",
  "map.no_basemap": "No base map (streets) yet: the phone fetches it by itself once the server has one and there is a network. The dots are in the right places.",
  "map.basemap_downloading": "Downloading the base map: {done}/{size} MB (it goes on when there is a network).",
  "map.pin_hint": "Tap the map where the household is.",
  "map.pin_done": "Done",

  "visit.title": "New visit",
  "visit.fix_title": "Fix a refused visit",
  "visit.fix_reason": "Why it was refused:",
  "visit.correct_title": "Correct a visit sent back",
  "visit.correct_reason": "{by} asks:",
  "visit.locating": "Finding your location…",
  "visit.loc_gps": "GPS location ±{m} m",
  "visit.loc_gps_unknown": "GPS location (accuracy unknown)",
  "visit.loc_fixed": "Preset location",
  "visit.loc_manual": "Pinned on the map",
  "visit.loc_none": "No location: pin it on the map, or save without a location.",
  "visit.loc_original": "Keeping the original visit's location",
  "visit.loc_retry": "Locate again",
  "visit.pin": "Pin on the map",
  "visit.household": "Household",
  "visit.household_new": "New household (not in the list)",
  "visit.household_new_short": "New household",
  "visit.household_same": "The original visit's household",
  "visit.household_change": "Change",
  "visit.no_address": "No address",
  "visit.address": "Address (house number, street, hamlet) — optional",
  "visit.area": "Area",
  "visit.outcome": "Outcome",
  "visit.choose_outcome": "Choose an outcome.",
  "count.people": "People in the household",
  "count.smartphones": "Smartphones",
  "count.already_installed": "Phones that already had {app}",
  "count.installed_now": "Phones given {app} now",
  "visit.less": "Less",
  "visit.more": "More",
  "visit.reason": "Reason",
  "visit.leaflet": "Leaflet given",
  "visit.notes": "Notes (optional)",
  "visit.notes_hint": "No names or phone numbers.",
  "visit.save": "Save",
  "visit.saving": "Saving…",
  "visit.wait_location": "Waiting for the location… Tap again to save now",
  "visit.cancel": "Cancel",
  "visit.no_campaign": "No campaign data on this phone yet; connect to a network to sync.",
  "visit.same_question": "The same household as {address}?",
  "visit.same_question_here": "The same household recorded at this spot?",
  "visit.same_yes": "Yes, this household",
  "visit.same_no": "A new household",
  "visit.answer_household": "Choose: this household, or a new one.",
  "visit.nearby_count": "{n} nearby",
  "visit.household_more": "Show {n} more",
  "visit.address_prompt": "House number and street, or a landmark (e.g. next to the market), to find it next time",
  "visit.reason_other": "Other",
  "visit.reason_other_hint": "Type the reason",
  "visit.outcome_change": "Change",
  "where.from": "{m} m {dir}",
  "where.here": "right here",
  "where.last": "last visit {time}",
  ...COMPASS_WORDS.en,

  "revisits.title": "Households to revisit",
  "revisits.empty": "No household is due for a revisit.",
  "revisits.visits": "{n} visits",
  "revisits.visit": "Visit",
  "revisits.due_at": "Due again at {time}",

  "claim.taken": "{name}'s until {until}",
  "claim.someone": "Someone else",
  "claim.assigned": "Assigned to you",
  "claim.overlap": "Your leader will see two visits to this household.",
  "claims.title": "Assigned to you",
  "claims.household": "One household",
  "claims.progress": "{visited}/{n} households visited",
  "claims.until": "Runs out {until} unless you record more visits",

  "today.title": "Today's visits",
  "today.empty": "No visits yet today.",
  "state.pending": "Waiting",
  "state.sent": "Sent",
  "state.rejected": "Refused",

  "rejected.title": "Refused visits",
  "rejected.explain": "The server did not accept these visits. Fix them and save again; the other visits are sent as usual.",
  "rejected.empty": "No refused visits.",
  "rejected.fix": "Fix",
  "rejected.at": "Refused at {when}",
  "rejected.field": "To fix: {field}",

  "corrections.title": "Visits to correct",
  "corrections.explain": "Your team leader looked at these visits and sent them back with a note. Correct and save; the old version is kept.",
  "corrections.empty": "No visits to correct.",
  "corrections.fix": "Correct",
  "corrections.by": "Sent back by {by} at {when}",
  "corrections.visited": "Visited at {when}",
  "corrections.answered": "Corrected, waiting to send",
  "field.location": "Location",
  "field.visited_at": "Visit time",

  "settings.title": "Settings",
  "settings.language": "Language",
  "settings.server": "Server address",
  "settings.accuracy": "Location accuracy threshold (metres)",
  "settings.provider": "Location source",
  "settings.provider_auto": "Automatic (the phone's GPS)",
  "settings.provider_fixed": "Preset position (testing)",
  "settings.server_map_none": "The server's base map: none yet (the server has none, or the phone has not synced).",
  "settings.server_map_held": "The server's base map: {name} — on this phone ({size} MB), usable offline.",
  "settings.server_map_downloading": "The server's base map: {name} — downloading {done}/{size} MB.",
  "settings.basemap": "Another base map (.pmtiles file, optional)",
  "settings.basemap_hint": "Empty: the server's base map is used (fetched by itself when there is a network). Only for a file of your own in the app's basemaps folder.",
  "settings.save": "Save settings",
  "settings.saved": "Settings saved.",
  "settings.sync": "Sync",
  "settings.sync_now": "Sync now",
  "settings.device": "Device id",
  "settings.enrol_again": "Enrol this phone again",
};

export const DICTIONARIES: Record<Lang, Record<Key, string>> = { vi, en };

let current: Lang = "vi";

export function getLang(): Lang {
  return current;
}

/** Sets the language of every later t() call and of the document (screen readers, hyphenation). */
export function setLang(lang: Lang): void {
  current = lang === "en" ? "en" : "vi";
  if (typeof document !== "undefined") document.documentElement.lang = current;
}

export function t(key: Key, params?: Record<string, string | number>): string {
  let s: string = DICTIONARIES[current][key] ?? DICTIONARIES.vi[key] ?? key;
  if (params) {
    for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(typeof v === "number" ? fmtNumber(v) : v);
  }
  return s;
}

/** A back-end message in the current language. */
export function pick(m: Messages | null | undefined): string {
  if (!m) return "";
  return m[current] || m.vi || m.en;
}

/** Numbers as written in the language: 1.234,5 in Vietnamese, 1,234.5 in English. */
export function fmtNumber(n: number, decimals = 0, lang: Lang = current): string {
  const neg = n < 0;
  const fixed = Math.abs(n).toFixed(decimals);
  const [int, frac] = fixed.split(".");
  const group = lang === "vi" ? "." : ",";
  const point = lang === "vi" ? "," : ".";
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, group);
  return (neg ? "-" : "") + grouped + (frac ? point + frac : "");
}

function shifted(iso: string, offsetMin: number): Date | null {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  return new Date(d.getTime() + offsetMin * 60000);
}

/** dd/mm/yyyy in the campaign's time zone (a fixed offset). */
export function fmtDate(iso: string, offsetMin: number): string {
  const d = shifted(iso, offsetMin);
  if (!d) return iso;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${d.getUTCFullYear()}`;
}

/** HH:MM in the campaign's time zone. */
export function fmtTime(iso: string, offsetMin: number): string {
  const d = shifted(iso, offsetMin);
  if (!d) return iso;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

/** dd/mm in the campaign's time zone: a date close at hand (a claim's end). */
export function fmtDayMonth(iso: string, offsetMin: number): string {
  return fmtDate(iso, offsetMin).slice(0, 5);
}

/** dd/mm/yyyy HH:MM in the campaign's time zone. */
export function fmtDateTime(iso: string, offsetMin: number): string {
  return `${fmtDate(iso, offsetMin)} ${fmtTime(iso, offsetMin)}`;
}

/** "5 phút trước" / "5 min ago"; older than a week as a date. */
export function relTime(iso: string, now: number, offsetMin: number): string {
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  const s = Math.max(0, (now - then) / 1000);
  if (s < 60) return t("time.just_now");
  if (s < 3600) return t("time.minutes", { n: Math.floor(s / 60) });
  if (s < 86400) return t("time.hours", { n: Math.floor(s / 3600) });
  if (s < 7 * 86400) return t("time.days", { n: Math.floor(s / 86400) });
  return `${fmtDate(iso, offsetMin)} ${fmtTime(iso, offsetMin)}`;
}

/** MapLibre's own words in the current language (`maplocale.ts`, shared with the other app). */
export function mapLocale(): Record<string, string> {
  return mapWords(current);
}
