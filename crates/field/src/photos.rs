//! Photos in the app: attached to a saved visit or to the day's activity report, listed with
//! their state, sent by the sync loop after the visits.

use doorstep_device::{LocalPhoto, PhotoDraft};
use doorstep_domain::photo::TargetKind;

use crate::{CommandResult, FieldApp, device_error, error, lock};

impl FieldApp {
    /// Makes the picture small and saves it durably with its place in the queue (then sync is
    /// woken). CPU-heavy (a second or so on a cheap phone): call it off the UI thread. A picture that cannot be read, or a visit not on this phone, is refused in both
    /// languages and nothing is saved.
    pub fn attach_photo(&self, draft: &PhotoDraft, picture: &[u8]) -> CommandResult<LocalPhoto> {
        let lang = self.lang();
        if lock(&self.store).enrolment().map_err(|e| device_error(e, lang))?.is_none() {
            return Err(error(
                "not_enrolled",
                None,
                "Điện thoại chưa được đăng ký; hãy nhập mã của tổ trưởng trước.",
                "This phone is not enrolled yet; enter your team leader's code first.",
                lang,
            ));
        }
        let mut draft = draft.clone();
        if draft.target_kind == TargetKind::Day && draft.area_code.as_deref().is_none_or(|a| a.trim().is_empty()) {
            // A day report belongs to the volunteer's first work area unless the app names one.
            draft.area_code = self.work_areas()?.into_iter().next();
        }
        // The decoding and resizing run before the store is taken: the sync and the status
        // reads go on meanwhile.
        let prepared = doorstep_device::prepare_photo(picture).map_err(|r| r.body(lang))?;
        let photo = lock(&self.store).save_photo(&draft, prepared, Self::now()).map_err(|e| device_error(e, lang))?;
        self.notify();
        self.sync_now();
        Ok(photo)
    }

    /// The photos of a visit (or venue visit, or day), oldest first, with their state and any
    /// refusal.
    pub fn photos(&self, target_kind: TargetKind, target_id: &str) -> CommandResult<Vec<LocalPhoto>> {
        let lang = self.lang();
        lock(&self.store).photos_for(target_kind, target_id).map_err(|e| device_error(e, lang))
    }

    /// The photos of a day's activity report (`YYYY-MM-DD`).
    pub fn daily_report_photos(&self, day: &str) -> CommandResult<Vec<LocalPhoto>> {
        self.photos(TargetKind::Day, day)
    }

    /// A photo's JPEG, for the app to show.
    pub fn photo_image(&self, id: &str) -> CommandResult<Vec<u8>> {
        let lang = self.lang();
        lock(&self.store).photo_bytes(id).map_err(|e| device_error(e, lang))?.ok_or_else(|| {
            error("photo_not_found", None, "Không có ảnh này trên máy.", "This photo is not on this phone.", lang)
        })
    }
}
