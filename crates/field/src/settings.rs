//! The volunteer's settings, kept in the phone's store.

use doorstep_device::{DeviceError, DeviceStore};
use doorstep_domain::Lang;
use serde::{Deserialize, Serialize};

use crate::FieldConfig;

const META_SETTINGS: &str = "app_settings";

/// The default accuracy threshold: a fix worse than this is shown with a warning.
pub const DEFAULT_ACCURACY_M: f64 = doorstep_domain::campaign::DEFAULT_ACCURACY_THRESHOLD_M;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationProviderKind {
    /// The platform's location: GPS on a phone, the web view's geolocation on a desktop.
    Auto,
    /// The position set in the configuration (`DOORSTEP_FIXED_LOCATION`): tests and demos.
    Fixed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub language: Lang,
    pub server: String,
    pub accuracy_threshold_m: f64,
    pub location_provider: LocationProviderKind,
    /// An offline base map (a PMTiles file the leader provides), or none: households on a plain
    /// background.
    pub basemap: Option<String>,
}

impl Settings {
    fn defaults(config: &FieldConfig) -> Settings {
        Settings {
            language: Lang::Vi,
            server: config.default_server.clone(),
            accuracy_threshold_m: DEFAULT_ACCURACY_M,
            location_provider: if config.fixed_location.is_some() || config.fixed_location_file.is_some() {
                LocationProviderKind::Fixed
            } else {
                LocationProviderKind::Auto
            },
            basemap: None,
        }
    }

    /// The saved settings, or the defaults; a damaged value is replaced by the defaults rather
    /// than keeping the volunteer out of the app.
    pub fn load(store: &DeviceStore, config: &FieldConfig) -> Settings {
        match store.meta(META_SETTINGS) {
            Ok(Some(json)) => serde_json::from_str(&json).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "saved settings unreadable; defaults used");
                Settings::defaults(config)
            }),
            Ok(None) => Settings::defaults(config),
            Err(e) => {
                tracing::warn!(error = %e, "settings not readable; defaults used");
                Settings::defaults(config)
            }
        }
    }

    pub fn save(&self, store: &mut DeviceStore) -> Result<(), DeviceError> {
        store.set_meta(META_SETTINGS, &serde_json::to_string(self)?)
    }

    /// Checks what a person typed: (field, Vietnamese, English) when something is wrong.
    pub fn validated(mut self) -> Result<Settings, (&'static str, &'static str, &'static str)> {
        self.server = self.server.trim().trim_end_matches('/').to_string();
        let scheme_ok = self.server.starts_with("http://") || self.server.starts_with("https://");
        if !scheme_ok || self.server.len() < "http://x".len() {
            return Err((
                "server",
                "Địa chỉ máy chủ phải bắt đầu bằng http:// hoặc https://.",
                "The server address must start with http:// or https://.",
            ));
        }
        if !(self.accuracy_threshold_m.is_finite() && (5.0..=1000.0).contains(&self.accuracy_threshold_m)) {
            return Err((
                "accuracy_threshold_m",
                "Ngưỡng độ chính xác phải từ 5 đến 1000 m.",
                "The accuracy threshold must be between 5 and 1000 m.",
            ));
        }
        self.basemap = self.basemap.map(|b| b.trim().to_string()).filter(|b| !b.is_empty());
        Ok(self)
    }
}
