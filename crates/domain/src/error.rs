//! Validation errors, each with a message in Vietnamese and in English.
//!
//! A volunteer reads these on the phone when a record is refused, so every message says what is
//! wrong and what to do, in words a person can act on.

use serde::{Deserialize, Serialize};

/// The languages every user-facing message exists in. Vietnamese first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// Picks a language from an HTTP `Accept-Language` value: English only when it is asked for
    /// before Vietnamese.
    pub fn from_accept_language(header: &str) -> Lang {
        for part in header.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.starts_with("vi") {
                return Lang::Vi;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Vi
    }
}

/// A message in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Messages {
    pub vi: String,
    pub en: String,
}

impl Messages {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }
}

/// What is wrong with a value. The field it concerns travels beside it in [`FieldError`].
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    Required,
    /// The JSON had the wrong shape or type here; `detail` is the decoder's own words.
    Malformed {
        detail: String,
    },
    Empty,
    TooLong {
        max: usize,
    },
    ControlCharacters,
    /// Bidirectional controls or zero-width characters: the text would show as something else.
    HiddenCharacters,
    Negative,
    TooLarge {
        max: u64,
    },
    AlreadyPlusNowExceedSmartphones,
    SmartphonesExceedPeople,
    NotFinite,
    OutOfRange {
        min: f64,
        max: f64,
    },
    NullIsland,
    AccuracyNotPositive,
    AccuracyRequired,
    CoordinatesWithoutSource,
    CoordinatesRequired,
    UnknownLocationSource {
        value: String,
    },
    NotUuid,
    NilUuid,
    NotUuidV7,
    UnknownOutcome {
        code: String,
    },
    ReasonRequired,
    OutcomeNeedsInstall,
    OutcomeNeedsNoSmartphone,
    OutcomeNeedsAlreadyInstalled,
    NotATimestamp,
    InFuture {
        tolerance_minutes: i64,
    },
    TooOld,
    BadAreaCode,
    UnknownArea {
        code: String,
    },
    SequenceNotPositive,
    RevisionNotPositive,
    /// The server holds this id and revision with other content: ids are never re-used.
    IdReused,
    /// The server holds another record with this device's sequence number.
    SequenceReused,
    /// The record names another device than the one that sent the batch.
    NotTheSendingDevice,
    UnknownRole {
        value: String,
    },
    BadUsername,
    PasswordTooShort {
        min: usize,
    },
    UnknownVenueKind {
        value: String,
    },
    /// A visitor log tells more people than came in.
    ToldExceedsCameIn,
    /// A visitor log has more installs than people told.
    InstalledExceedsTold,
    /// A later revision of a visit sent by a phone of another volunteer than the one who
    /// recorded its first revision: only a visit's own volunteer may correct it.
    NotYourVisit,
    /// A revision that does not follow the latest one the server holds (`expected`).
    RevisionGap {
        expected: i64,
    },
    /// A later revision of a visit that names another household or area than its first.
    RevisionOtherHousehold,
    /// A venue visit that would change a venue of another area, or from a phone not working
    /// in the venue's area.
    VenueOutOfArea,
    /// A visit time before the campaign's first day (given as dd/mm/yyyy).
    BeforeCampaignStart {
        date: String,
    },
}

/// One refused value: which field, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {}", self.messages().en)]
pub struct FieldError {
    /// A JSON path to the field, such as `location.lat` or `counts.smartphones`.
    pub field: String,
    pub kind: ErrorKind,
}

impl FieldError {
    pub fn new(field: impl Into<String>, kind: ErrorKind) -> Self {
        Self { field: field.into(), kind }
    }

    /// A stable machine code for the error, for clients and logs.
    pub fn code(&self) -> &'static str {
        use ErrorKind::*;
        match &self.kind {
            Required => "required",
            Malformed { .. } => "malformed",
            Empty => "empty",
            TooLong { .. } => "too_long",
            ControlCharacters => "control_characters",
            HiddenCharacters => "hidden_characters",
            Negative => "negative",
            TooLarge { .. } => "too_large",
            AlreadyPlusNowExceedSmartphones => "installs_exceed_smartphones",
            SmartphonesExceedPeople => "smartphones_exceed_people",
            NotFinite => "not_finite",
            OutOfRange { .. } => "out_of_range",
            NullIsland => "null_island",
            AccuracyNotPositive => "accuracy_not_positive",
            AccuracyRequired => "accuracy_required",
            CoordinatesWithoutSource => "coordinates_without_source",
            CoordinatesRequired => "coordinates_required",
            UnknownLocationSource { .. } => "unknown_location_source",
            NotUuid => "not_uuid",
            NilUuid => "nil_uuid",
            NotUuidV7 => "not_uuid_v7",
            UnknownOutcome { .. } => "unknown_outcome",
            ReasonRequired => "reason_required",
            OutcomeNeedsInstall => "outcome_needs_install",
            OutcomeNeedsNoSmartphone => "outcome_needs_no_smartphone",
            OutcomeNeedsAlreadyInstalled => "outcome_needs_already_installed",
            NotATimestamp => "not_a_timestamp",
            InFuture { .. } => "in_future",
            TooOld => "too_old",
            BadAreaCode => "bad_area_code",
            UnknownArea { .. } => "unknown_area",
            SequenceNotPositive => "sequence_not_positive",
            RevisionNotPositive => "revision_not_positive",
            IdReused => "id_reused",
            SequenceReused => "sequence_reused",
            NotTheSendingDevice => "not_the_sending_device",
            UnknownRole { .. } => "unknown_role",
            BadUsername => "bad_username",
            PasswordTooShort { .. } => "password_too_short",
            UnknownVenueKind { .. } => "unknown_venue_kind",
            ToldExceedsCameIn => "told_exceeds_came_in",
            InstalledExceedsTold => "installed_exceeds_told",
            NotYourVisit => "not_your_visit",
            RevisionGap { .. } => "revision_gap",
            RevisionOtherHousehold => "revision_other_household",
            VenueOutOfArea => "venue_out_of_area",
            BeforeCampaignStart { .. } => "before_campaign_start",
        }
    }

    /// The message in both languages. The field name is given as is (it is a path in the record).
    pub fn messages(&self) -> Messages {
        let f = &self.field;
        use ErrorKind::*;
        let (vi, en) = match &self.kind {
            Required => (
                format!("Thiếu trường bắt buộc «{f}»."),
                format!("The field '{f}' is required."),
            ),
            Malformed { detail } => (
                format!("Trường «{f}» sai định dạng ({detail})."),
                format!("The field '{f}' has the wrong form ({detail})."),
            ),
            Empty => (
                format!("Trường «{f}» không được để trống."),
                format!("The field '{f}' must not be empty."),
            ),
            TooLong { max } => (
                format!("Trường «{f}» dài quá {max} ký tự; hãy viết ngắn lại."),
                format!("The field '{f}' is longer than {max} characters; shorten it."),
            ),
            ControlCharacters => (
                format!("Trường «{f}» chứa ký tự điều khiển không hợp lệ; hãy nhập lại."),
                format!("The field '{f}' contains control characters; type it again."),
            ),
            HiddenCharacters => (
                format!(
                    "Trường «{f}» chứa ký tự ẩn (ký tự đổi chiều chữ hoặc ký tự không độ rộng) có thể làm chữ hiện ra khác đi; hãy xóa và gõ lại."
                ),
                format!(
                    "The field '{f}' contains hidden characters (text-direction or zero-width characters) that can make it display as something else; delete it and type it again."
                ),
            ),
            Negative => (
                format!("Số «{f}» không được âm."),
                format!("The count '{f}' must not be negative."),
            ),
            TooLarge { max } => (
                format!("Số «{f}» lớn quá mức hợp lý (tối đa {max}); hãy kiểm tra lại."),
                format!("The count '{f}' is larger than is plausible (at most {max}); check it."),
            ),
            AlreadyPlusNowExceedSmartphones => (
                "Số máy đã cài cộng số máy cài mới lớn hơn số điện thoại thông minh; hãy sửa các con số.".to_string(),
                "Phones already installed plus installed now exceed the smartphones seen; correct the counts.".to_string(),
            ),
            SmartphonesExceedPeople => (
                "Số điện thoại thông minh lớn hơn mức hợp lý so với số người trong hộ; hãy kiểm tra lại.".to_string(),
                "More smartphones than is plausible for the people in the household; check the counts.".to_string(),
            ),
            NotFinite => (
                format!("Tọa độ «{f}» không phải là số hữu hạn."),
                format!("The coordinate '{f}' is not a finite number."),
            ),
            OutOfRange { min, max } => (
                format!("Giá trị «{f}» phải nằm trong khoảng {min} đến {max}."),
                format!("The value '{f}' must be between {min} and {max}."),
            ),
            NullIsland => (
                "Tọa độ 0,0 không phải là vị trí thật; hãy lấy lại vị trí hoặc ghim trên bản đồ.".to_string(),
                "The point 0,0 is not a real position; take the location again or pin it on the map.".to_string(),
            ),
            AccuracyNotPositive => (
                format!("Độ chính xác «{f}» phải là số dương (mét)."),
                format!("The accuracy '{f}' must be a positive number of metres."),
            ),
            AccuracyRequired => (
                "Vị trí GPS phải có độ chính xác (mét).".to_string(),
                "A GPS location must come with its accuracy in metres.".to_string(),
            ),
            CoordinatesWithoutSource => (
                "Có tọa độ nhưng nguồn vị trí là «none»; hãy chọn gps hoặc manual.".to_string(),
                "Coordinates were given with location source 'none'; use gps or manual.".to_string(),
            ),
            CoordinatesRequired => (
                "Nguồn vị trí gps hoặc manual cần có cả vĩ độ và kinh độ.".to_string(),
                "A gps or manual location needs both latitude and longitude.".to_string(),
            ),
            UnknownLocationSource { value } => (
                format!("Nguồn vị trí «{value}» không hợp lệ; dùng gps, manual hoặc none."),
                format!("Unknown location source '{value}'; use gps, manual or none."),
            ),
            NotUuid => (
                format!("Mã «{f}» không phải là UUID hợp lệ."),
                format!("The identifier '{f}' is not a valid UUID."),
            ),
            NilUuid => (
                format!("Mã «{f}» không được là UUID rỗng."),
                format!("The identifier '{f}' must not be the nil UUID."),
            ),
            NotUuidV7 => (
                format!("Mã bản ghi «{f}» phải là UUID phiên bản 7 do thiết bị tạo."),
                format!("The record identifier '{f}' must be a version 7 UUID made on the device."),
            ),
            UnknownOutcome { code } => (
                format!("Kết quả «{code}» không có trong danh sách của chiến dịch."),
                format!("The outcome '{code}' is not in this campaign's list."),
            ),
            ReasonRequired => (
                "Kết quả này cần ghi lý do.".to_string(),
                "This outcome needs a reason.".to_string(),
            ),
            OutcomeNeedsInstall => (
                "Kết quả «cài mới» cần ít nhất 1 máy được cài trong lượt thăm này.".to_string(),
                "The outcome 'installed now' needs at least 1 phone installed during this visit.".to_string(),
            ),
            OutcomeNeedsNoSmartphone => (
                "Kết quả «không có điện thoại thông minh» nhưng số điện thoại thông minh khác 0.".to_string(),
                "The outcome 'no smartphone' was chosen but the smartphone count is not 0.".to_string(),
            ),
            OutcomeNeedsAlreadyInstalled => (
                "Kết quả «đã cài từ trước» cần ít nhất 1 máy đã cài.".to_string(),
                "The outcome 'already installed' needs at least 1 phone already installed.".to_string(),
            ),
            NotATimestamp => (
                format!("Thời gian «{f}» phải theo dạng RFC 3339 có múi giờ, ví dụ 2020-08-03T09:15:00+07:00."),
                format!("The time '{f}' must be RFC 3339 with its offset, e.g. 2020-08-03T09:15:00+07:00."),
            ),
            // The server allows 48 hours: said in hours, as a person counts them.
            InFuture { tolerance_minutes } if *tolerance_minutes >= 120 && tolerance_minutes % 60 == 0 => {
                let hours = tolerance_minutes / 60;
                (
                    format!("Thời gian thăm ở tương lai (quá {hours} giờ so với đồng hồ máy chủ); hãy kiểm tra đồng hồ của điện thoại."),
                    format!("The visit time is in the future (more than {hours} hours ahead of the server's clock); check the phone's clock."),
                )
            }
            InFuture { tolerance_minutes } => (
                format!("Thời gian thăm ở tương lai (quá {tolerance_minutes} phút); hãy kiểm tra đồng hồ của điện thoại."),
                format!("The visit time is in the future (by more than {tolerance_minutes} minutes); check the phone's clock."),
            ),
            TooOld => (
                "Thời gian thăm quá cũ để thuộc chiến dịch; hãy kiểm tra đồng hồ của điện thoại.".to_string(),
                "The visit time is too old to belong to a campaign; check the phone's clock.".to_string(),
            ),
            BadAreaCode => (
                format!("Mã địa bàn «{f}» không hợp lệ (chỉ gồm chữ số, chữ cái, '-' hoặc '_', tối đa 16 ký tự)."),
                format!("The area code '{f}' is not valid (digits, letters, '-' or '_', at most 16 characters)."),
            ),
            UnknownArea { code } => (
                format!("Địa bàn «{code}» không có trên máy chủ; hãy đồng bộ lại danh sách địa bàn."),
                format!("The area '{code}' is not known to the server; sync the area list again."),
            ),
            SequenceNotPositive => (
                "Số thứ tự của thiết bị phải là số nguyên dương.".to_string(),
                "The device sequence number must be a positive integer.".to_string(),
            ),
            RevisionNotPositive => (
                "Số phiên bản của lượt thăm phải là số nguyên dương.".to_string(),
                "The visit revision must be a positive integer.".to_string(),
            ),
            IdReused => (
                "Mã bản ghi này đã được dùng cho một lượt thăm khác; bản ghi không được ghi đè. Hãy báo cho tổ trưởng.".to_string(),
                "This record id was already used for a different visit; records are never overwritten. Tell your team leader.".to_string(),
            ),
            UnknownRole { value } => (
                format!("Vai trò «{value}» không tồn tại; dùng admin, committee, leader hoặc volunteer."),
                format!("Unknown role '{value}'; use admin, committee, leader or volunteer."),
            ),
            BadUsername => (
                "Tên đăng nhập cần 3 đến 64 ký tự: chữ cái không dấu, chữ số, dấu chấm, gạch dưới, gạch ngang hoặc @.".to_string(),
                "A username needs 3 to 64 characters: letters without accents, digits, '.', '_', '-' or '@'.".to_string(),
            ),
            PasswordTooShort { min } => (
                format!("Mật khẩu cần ít nhất {min} ký tự."),
                format!("A password needs at least {min} characters."),
            ),
            UnknownVenueKind { value } => (
                format!("Loại cơ sở «{value}» không có trong danh sách; hãy chọn cơ quan, trường học, khách sạn, nhà hàng, cửa hàng, doanh nghiệp hoặc bến xe/nhà ga/cảng."),
                format!("The venue kind '{value}' is not one of the list; choose agency, school, hotel, restaurant, shop, business or transport hub."),
            ),
            ToldExceedsCameIn => (
                "Số người được tuyên truyền lớn hơn số người đến; hãy sửa sổ theo dõi.".to_string(),
                "More people told than came in; correct the visitor log.".to_string(),
            ),
            InstalledExceedsTold => (
                "Số người đã cài lớn hơn số người được tuyên truyền; hãy sửa sổ theo dõi.".to_string(),
                "More people installed than were told; correct the visitor log.".to_string(),
            ),
            NotTheSendingDevice => (
                "Bản ghi ghi tên một thiết bị khác với thiết bị đã gửi nó. Hãy báo cho tổ trưởng.".to_string(),
                "The record names another device than the one that sent it. Tell your team leader.".to_string(),
            ),
            SequenceReused => (
                "Số thứ tự này của thiết bị đã được dùng cho một bản ghi khác. Hãy báo cho tổ trưởng.".to_string(),
                "This device sequence number was already used for another record. Tell your team leader.".to_string(),
            ),
            NotYourVisit => (
                "Lượt thăm này do một tình nguyện viên khác ghi; chỉ người đã ghi mới sửa được. Nếu cần sửa, hãy báo cho tổ trưởng.".to_string(),
                "Another volunteer recorded this visit; only they can correct it. Tell your team leader if it needs correcting.".to_string(),
            ),
            RevisionGap { expected } => (
                format!("Bản sửa này không nối tiếp bản máy chủ đang giữ (cần bản số {expected}); hãy đồng bộ rồi sửa lại."),
                format!("This correction does not follow the one the server holds (revision {expected} was expected); sync, then correct it again."),
            ),
            RevisionOtherHousehold => (
                "Bản sửa phải giữ nguyên hộ và địa bàn của lượt thăm ban đầu; nếu thăm nhầm hộ, hãy ghi một lượt thăm mới.".to_string(),
                "A correction must keep the household and area of the visit it corrects; for a visit to another household, record a new visit.".to_string(),
            ),
            VenueOutOfArea => (
                "Cơ sở này thuộc địa bàn khác với lượt thăm, hoặc ngoài địa bàn của bạn; tên, loại và địa bàn của cơ sở chỉ được sửa từ địa bàn của nó. Hãy báo cho tổ trưởng.".to_string(),
                "This venue belongs to another area than the visit, or to one outside yours; a venue's name, kind and area change only from its own area. Tell your team leader.".to_string(),
            ),
            BeforeCampaignStart { date } => (
                format!("Thời gian thăm trước ngày bắt đầu chiến dịch ({date}); hãy kiểm tra đồng hồ của điện thoại."),
                format!("The visit time is before the campaign's first day ({date}); check the phone's clock."),
            ),
        };
        Messages { vi, en }
    }
}
