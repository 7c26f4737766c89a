//! Enrolment: a leader's code exchanged for this phone's token, against a server the phone
//! trusts (the system's certificates, the built-in roots, and a province's own CA when given).

use std::time::Duration;

use doorstep_device::{SyncClient, SyncConfig, SyncError};

use crate::settings::Settings;
use crate::{CommandResult, FieldApp, META_SERVER_CA, Status, device_error, error, lock, sync_error};

impl FieldApp {
    /// A client for `server`, trusting the CA given at enrolment when there was one.
    pub(crate) fn client(&self, server: &str) -> Result<SyncClient, SyncError> {
        let ca = lock(&self.store).meta(META_SERVER_CA).ok().flatten();
        self.client_trusting(server, ca)
    }

    fn client_trusting(&self, server: &str, trusted_ca: Option<String>) -> Result<SyncClient, SyncError> {
        SyncClient::new(SyncConfig {
            server: server.to_string(),
            request_timeout: Duration::from_secs(20),
            max_backoff: Duration::from_secs(10),
            trusted_ca,
            ..SyncConfig::default()
        })
    }

    /// Exchanges a leader's code for this phone's token, against `server` (kept in the
    /// settings), then syncs.
    pub async fn enrol(&self, server: &str, code: &str) -> CommandResult<Status> {
        self.enrol_trusting(server, code, None).await
    }

    /// As [`FieldApp::enrol`], trusting `ca` (PEM: a province's own certificate authority, from
    /// the leader's card) for this server from now on, besides the system's.
    pub async fn enrol_trusting(&self, server: &str, code: &str, ca: Option<&str>) -> CommandResult<Status> {
        let lang = self.lang();
        let server = server.trim().trim_end_matches('/').to_string();
        let ca = ca.map(str::trim).filter(|c| !c.is_empty()).map(str::to_string);
        if let Some(pem) = &ca
            && doorstep_device::sync::trusted_ca(pem).is_err()
        {
            return Err(error(
                "server_ca_invalid",
                Some("ca"),
                "Chứng chỉ của máy chủ không đọc được: hãy dán nguyên khối từ -----BEGIN CERTIFICATE----- đến -----END CERTIFICATE-----.",
                "The server's certificate cannot be read: paste all of it, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.",
                lang,
            ));
        }
        let client = self.client_trusting(&server, ca.clone()).map_err(|_| {
            error(
                "bad_server_url",
                Some("server"),
                "Địa chỉ máy chủ không hợp lệ (ví dụ: https://doorstep.hatinh.gov.vn).",
                "The server address is not valid (for example https://doorstep.hatinh.gov.vn).",
                lang,
            )
        })?;
        let code = code.trim();
        if code.is_empty() {
            return Err(error(
                "enrolment_code_invalid",
                Some("code"),
                "Hãy nhập mã đăng ký do tổ trưởng cấp.",
                "Type the enrolment code your team leader gave you.",
                lang,
            ));
        }
        let enrolment = client.enrol(&self.store, code).await.map_err(|e| sync_error(e, lang))?;
        tracing::info!(volunteer = %enrolment.username, "phone enrolled");
        {
            let mut store = lock(&self.store);
            let mut settings = Settings::load(&store, &self.config);
            settings.server = server;
            settings.save(&mut store).map_err(|e| device_error(e, lang))?;
            // The CA goes with the server it was given for.
            match &ca {
                Some(pem) => store.set_meta(META_SERVER_CA, pem),
                None => store.delete_meta(META_SERVER_CA),
            }
            .map_err(|e| device_error(e, lang))?;
            // Enrolled again after an erase: the reason is no longer news.
            store.clear_wipe_marker().map_err(|e| device_error(e, lang))?;
        }
        lock(&self.live).online = true;
        self.sync_now();
        self.status()
    }
}
