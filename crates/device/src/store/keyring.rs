//! Where the database key is kept: the desktop's keyring where one answers, else the key file.
//!
//! On a Linux desktop the keyring is the Secret Service (GNOME Keyring, KWallet) on the session
//! bus, through the `keyring` crate; it holds the key encrypted under the user's login and out of
//! the data directory, so a copied data directory holds no key at all. The app's desktop shell
//! turns it on (feature `desktop-keyring`); without it, or without a session bus, or when the
//! keyring does not answer, the key stays in the file beside the database ([`KeyFile`]), readable
//! by the user only. A key already in a file is moved into the keyring when one answers: kept
//! there first, read back, and only then the file removed.
//!
//! On a phone the shell gives its own store (Android Keystore, iOS Keychain) through
//! `DeviceStore::open_with`; none is written yet.

use std::path::Path;

use super::crypt::{KeyFile, KeyStore};

/// The key store for the database at `db`: the desktop keyring when it is built in and answers,
/// else the key file beside the database.
pub fn platform_keys(db: &Path) -> Box<dyn KeyStore> {
    #[cfg(all(feature = "desktop-keyring", target_os = "linux"))]
    if let Some(ring) = desktop::DesktopKeyring::for_database(db) {
        return Box::new(ring);
    }
    Box::new(KeyFile::beside(db))
}

#[cfg(all(feature = "desktop-keyring", target_os = "linux"))]
pub use desktop::DesktopKeyring;

#[cfg(all(feature = "desktop-keyring", target_os = "linux"))]
mod desktop {
    use super::*;
    use crate::store::crypt::{DbKey, KeyError};
    use zeroize::Zeroizing;

    /// The service name the keyring files the keys under; the account is the database's path.
    const SERVICE: &str = "vn.doorstep.field";

    /// The key of one database in the desktop keyring.
    pub struct DesktopKeyring {
        entry: keyring::Entry,
        account: String,
        /// The key file that held the key before the keyring did, if any: moved in at `load`,
        /// and forgotten with the key.
        file: KeyFile,
    }

    impl DesktopKeyring {
        /// The keyring entry of the database at `db`, if a keyring answers: a session bus is
        /// named (without one the library would try to start a bus of its own) and a read
        /// succeeds or finds no entry.
        pub fn for_database(db: &Path) -> Option<DesktopKeyring> {
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS")?;
            let absolute = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
            let account = absolute.to_string_lossy().into_owned();
            let entry = match keyring::Entry::new(SERVICE, &account) {
                Ok(e) => e,
                Err(e) => {
                    tracing::info!(error = %e, "no desktop keyring; the database key stays in a file");
                    return None;
                }
            };
            match entry.get_password() {
                Ok(_) | Err(keyring::Error::NoEntry) => {
                    Some(DesktopKeyring { entry, account, file: KeyFile::beside(db) })
                }
                Err(e) => {
                    tracing::info!(error = %e, "the desktop keyring did not answer; the database key stays in a file");
                    None
                }
            }
        }

        pub(super) fn read(&self) -> Result<Option<DbKey>, KeyError> {
            match self.entry.get_password() {
                Ok(text) => {
                    let text = Zeroizing::new(text);
                    DbKey::parse_hex(&text).map(Some).ok_or_else(|| {
                        KeyError::Platform(format!(
                            "the keyring's entry for {} is not a key this app wrote",
                            self.account
                        ))
                    })
                }
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(platform(e)),
            }
        }
    }

    fn platform(e: keyring::Error) -> KeyError {
        KeyError::Platform(format!("desktop keyring: {e}"))
    }

    impl KeyStore for DesktopKeyring {
        fn load(&self) -> Result<Option<DbKey>, KeyError> {
            if let Some(key) = self.read()? {
                return Ok(Some(key));
            }
            // A key from before the keyring: moved in, checked, then the file goes.
            let Some(key) = self.file.load()? else {
                return Ok(None);
            };
            self.entry.set_password(&key.hex()).map_err(platform)?;
            match self.read()? {
                Some(kept) if kept.expose() == key.expose() => {
                    self.file.forget()?;
                    tracing::info!(account = %self.account, "database key moved from its file into the desktop keyring");
                }
                _ => {
                    return Err(KeyError::Platform(
                        "the desktop keyring did not give back the key it was given; the key file was kept".into(),
                    ));
                }
            }
            Ok(Some(key))
        }

        fn save_new(&self, key: &DbKey) -> Result<(), KeyError> {
            // The keyring has no "create only": read first. One app opens its database at a
            // time, so nothing comes between the two.
            if self.read()?.is_some() || self.file.load()?.is_some() {
                return Err(KeyError::Exists);
            }
            self.entry.set_password(&key.hex()).map_err(platform)?;
            match self.read()? {
                Some(kept) if kept.expose() == key.expose() => Ok(()),
                _ => Err(KeyError::Platform("the desktop keyring did not give back the key it was given".into())),
            }
        }

        fn forget(&self) -> Result<(), KeyError> {
            match self.entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => {}
                Err(e) => return Err(platform(e)),
            }
            self.file.forget()
        }

        fn describe(&self) -> String {
            format!("desktop keyring, {SERVICE} / {}", self.account)
        }
    }
}

#[cfg(all(test, feature = "desktop-keyring", target_os = "linux"))]
mod tests {
    use super::*;
    use crate::store::crypt::{DbKey, KeyError};
    use crate::store::{DeviceError, DeviceStore};

    /// The desktop app's key: kept in the keyring, not beside the database; a key file of an
    /// earlier version is moved in (and the file removed) with the data still readable; without
    /// the key the database does not open; a wipe's `forget` removes the keyring's entry.
    #[test]
    #[ignore = "needs a Secret Service on the session bus: scripts/test.sh runs it under dbus-run-session with gnome-keyring"]
    fn the_desktop_keyring_keeps_the_key_and_a_key_file_moves_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = |db: &Path| KeyFile::beside(db).path().to_path_buf();

        // A database made before the keyring: its key is in the file beside it.
        let old = dir.path().join("old.db");
        let device = DeviceStore::open(&old).unwrap().device_id();
        assert!(key_file(&old).exists());
        let ring = DesktopKeyring::for_database(&old).expect("a Secret Service answers on the session bus");
        assert!(ring.describe().contains("desktop keyring"), "{}", ring.describe());
        assert!(ring.read().unwrap().is_none());

        // The app opens it: the key moves into the keyring, the file goes, the data stays.
        let store = DeviceStore::open_platform(&old).unwrap();
        assert_eq!(store.device_id(), device);
        drop(store);
        assert!(!key_file(&old).exists(), "the key file is gone once the keyring holds the key");
        assert!(ring.read().unwrap().is_some());
        assert_eq!(DeviceStore::open_platform(&old).unwrap().device_id(), device);
        // The directory alone (the database without the keyring) does not open.
        match DeviceStore::open(&old) {
            Err(DeviceError::Locked(_)) => {}
            other => panic!("opened without the key: {other:?}"),
        }
        assert!(!key_file(&old).exists(), "no key is made for a database it does not open");

        // A new database: its key is made in the keyring, never in a file.
        let new = dir.path().join("new.db");
        let made = DeviceStore::open_platform(&new).unwrap().device_id();
        assert!(!key_file(&new).exists());
        assert_eq!(DeviceStore::open_platform(&new).unwrap().device_id(), made);
        let new_ring = DesktopKeyring::for_database(&new).unwrap();
        assert!(matches!(new_ring.save_new(&DbKey::generate().unwrap()), Err(KeyError::Exists)));

        // Forgotten (a wipe): the entries are gone.
        for r in [&ring, &new_ring] {
            r.forget().unwrap();
            assert!(r.load().unwrap().is_none());
        }
    }
}
