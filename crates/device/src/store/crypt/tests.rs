use std::path::Path;

use doorstep_domain::protocol::{HouseholdDto, PullResponse};

use super::super::tests::{SmallDisk, draft, now};
use super::*;
use crate::store::{APPLICATION_ID, DeviceStore, ErrorBody, Lang, Messages, QueueCounts};

const ADDRESS: &str = "Số 77 Ngõ Bí Mật, Phường Trần Phú";
const NOTES: &str = "Chủ hộ dặn không nói với hàng xóm: SECRET-NOTE-4417";

/// A visit whose address and notes must not be found in the file's bytes.
fn secret_draft() -> crate::store::VisitDraft {
    let mut d = draft();
    d.address = Some(ADDRESS.into());
    d.notes = Some(NOTES.into());
    d
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn bytes_of(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

/// What the store holds that a conversion must keep.
#[derive(Debug, PartialEq)]
struct Held {
    device_id: uuid::Uuid,
    ids: Vec<(String, i64)>,
    queue: QueueCounts,
    outbox: Vec<(i64, String)>,
    households: usize,
    token: Option<String>,
}

fn held(s: &DeviceStore) -> Held {
    Held {
        device_id: s.device_id(),
        ids: s.recorded_ids().unwrap(),
        queue: s.queue().unwrap(),
        outbox: s.next_batch(1_000).unwrap().into_iter().map(|e| (e.device_seq, e.body)).collect(),
        households: s.households(None).unwrap().len(),
        token: s.device_token().unwrap().map(|t| t.expose().to_string()),
    }
}

/// A store as versions before encryption made it: plain SQLite, written by the store's own code,
/// with visits waiting in the outbox, a refused one, households from a pull and an enrolment.
fn plain_store(path: &Path) -> DeviceStore {
    let mut s = DeviceStore::open_unencrypted(path).unwrap();
    s.set_meta("device_token", "tok-plain").unwrap();
    for _ in 0..25 {
        s.record_visit(&secret_draft(), now()).unwrap();
    }
    let refusal = ErrorBody::new("http_400", None, Messages { vi: "v".into(), en: "e".into() }, Lang::Vi);
    s.reject_entry(3, &refusal).unwrap();
    s.apply_pull(&PullResponse {
        areas: vec![],
        households: (0..10)
            .map(|i| HouseholdDto {
                id: format!("hh-{i}"),
                area_code: "18073".into(),
                address: Some(format!("{ADDRESS} {i}")),
                lat: Some(18.3),
                lon: Some(105.9),
                visits: 1,
                latest_outcome: Some("not_home".into()),
                revisit_due: true,
                revisit_due_at_ms: None,
                latest_volunteer_id: None,
                latest_volunteer: None,
                latest_visited_at_ms: None,
                updated_seq: i + 1,
            })
            .collect(),
        claims: vec![],
        next_cursor: 10,
        has_more: false,
    })
    .unwrap();
    s
}

fn is_plain(path: &Path) -> bool {
    bytes_of(path).starts_with(PLAIN_HEADER)
}

/// The file copied off a phone: without the key neither SQLite nor SQLCipher reads it, a wrong
/// key neither, and none of what was recorded is in its bytes; the right key reads it.
#[test]
fn a_copied_file_is_unreadable_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let mut s = DeviceStore::open(&path).unwrap();
    for _ in 0..50 {
        s.record_visit(&secret_draft(), now()).unwrap();
    }
    // While open, the latest commits are in the WAL: it is encrypted too.
    let wal = bytes_of(&sidecar(&path, "-wal"));
    assert!(!wal.is_empty());
    assert!(!contains(&wal, NOTES) && !contains(&wal, ADDRESS) && !contains(&wal, "18073"));
    drop(s);

    // Copied off the phone, without the key file beside it.
    let thief = tempfile::tempdir().unwrap();
    let copy = thief.path().join("stolen.db");
    std::fs::copy(&path, &copy).unwrap();
    let raw = bytes_of(&copy);
    assert!(raw.len() > 8 * 4096, "{}", raw.len());
    for needle in [NOTES, ADDRESS, "SECRET-NOTE", "installed_now", "CREATE TABLE", "SQLite format 3"] {
        assert!(!contains(&raw, needle), "{needle:?} is readable in the file");
    }
    // A control: the same visits in a plain store are in its bytes.
    let plain_path = dir.path().join("plain.db");
    drop(plain_store(&plain_path));
    assert!(contains(&bytes_of(&plain_path), NOTES));

    // Plain SQLite (no key).
    let c = Connection::open(&copy).unwrap();
    let e = c.query_row("SELECT count(*) FROM visits", [], |r| r.get::<_, i64>(0)).unwrap_err();
    assert_eq!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::NotADatabase), "{e}");
    assert!(e.to_string().contains("file is not a database"), "{e}");
    drop(c);
    // A wrong key.
    let c = Connection::open(&copy).unwrap();
    key_connection(&c, &DbKey::generate().unwrap()).unwrap();
    let e = c.query_row("SELECT count(*) FROM visits", [], |r| r.get::<_, i64>(0)).unwrap_err();
    assert_eq!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::NotADatabase), "{e}");
    drop(c);
    // The store itself, with no key beside the copy: refused, nothing written, no key made.
    match DeviceStore::open(&copy) {
        Err(DeviceError::Locked(m)) => assert!(m.contains("no key is held"), "{m}"),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert_eq!(bytes_of(&copy), raw);
    assert!(!KeyFile::beside(&copy).path().exists());

    // The right key reads every visit, notes included.
    let key = KeyFile::beside(&path).load().unwrap().unwrap();
    let c = Connection::open(&copy).unwrap();
    key_connection(&c, &key).unwrap();
    let (n, notes): (i64, String) =
        c.query_row("SELECT count(*), max(body) FROM visits", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(n, 50);
    assert!(notes.contains(NOTES));
    // The SQLCipher raw-key statement of the brief works as well.
    let hex: String = key.expose().iter().map(|b| format!("{b:02x}")).collect();
    let c = Connection::open(&copy).unwrap();
    c.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";")).unwrap();
    let n: i64 = c.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 50);
}

/// A wrong key is refused with a message in both languages, and the file and the key held are
/// left exactly as they were; the right key, put back, opens everything.
#[test]
fn a_wrong_key_is_refused_and_nothing_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let mut s = DeviceStore::open(&path).unwrap();
    let ids: Vec<_> = (0..10).map(|_| (s.record_visit(&secret_draft(), now()).unwrap().id.to_string(), 1)).collect();
    drop(s);
    let keys = KeyFile::beside(&path);
    let right = keys.load().unwrap().unwrap();
    keys.forget().unwrap();
    keys.save_new(&DbKey::generate().unwrap()).unwrap();
    let wrong_file = bytes_of(keys.path());
    let before = bytes_of(&path);

    for _ in 0..2 {
        match DeviceStore::open(&path) {
            Err(e @ DeviceError::Locked(_)) => {
                let m = e.to_string();
                assert!(m.contains("Không mở được dữ liệu trên máy"), "{m}");
                assert!(m.contains("cannot be opened") && m.contains("does not open it"), "{m}");
                assert!(m.contains("left as it is"), "{m}");
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert_eq!(bytes_of(&path), before, "the file was changed");
        assert_eq!(bytes_of(keys.path()), wrong_file, "the key held was replaced");
        assert!(!sidecar(&path, "-wal").exists() || bytes_of(&sidecar(&path, "-wal")).is_empty());
    }

    // With a store whose key went missing entirely, the same: no new key replaces it.
    keys.forget().unwrap();
    assert!(matches!(DeviceStore::open(&path), Err(DeviceError::Locked(_))));
    assert!(!keys.path().exists());
    assert_eq!(bytes_of(&path), before);

    keys.save_new(&right).unwrap();
    let s = DeviceStore::open(&path).unwrap();
    assert_eq!(s.recorded_ids().unwrap(), ids);
}

/// A phone updated from a version without encryption: its plain database, with visits not sent
/// yet, is encrypted at the first open, and everything in it is kept.
#[test]
fn a_plain_database_is_encrypted_in_place_and_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doorstep.db");
    let s = plain_store(&path);
    let before = held(&s);
    assert_eq!(before.queue.pending, 24);
    assert_eq!(before.queue.rejected, 1);
    assert_eq!(before.households, 35, "{before:?}");
    // The app killed, not closed: the last commits are only in the WAL, as on a phone.
    let phone = tempfile::tempdir().unwrap();
    let moved = phone.path().join("doorstep.db");
    std::fs::copy(&path, &moved).unwrap();
    std::fs::copy(sidecar(&path, "-wal"), sidecar(&moved, "-wal")).unwrap();
    drop(s);
    assert!(bytes_of(&sidecar(&moved, "-wal")).len() > 4096);
    assert!(is_plain(&moved));
    assert!(!KeyFile::beside(&moved).path().exists());

    let s = DeviceStore::open(&moved).unwrap();
    assert_eq!(held(&s), before);
    drop(s);
    assert!(!is_plain(&moved));
    let raw = bytes_of(&moved);
    assert!(!contains(&raw, NOTES) && !contains(&raw, ADDRESS));
    assert!(!converting_path(&moved).exists());
    assert!(KeyFile::beside(&moved).path().exists());
    // The plain file is not read without the key any more.
    let c = Connection::open(&moved).unwrap();
    assert!(c.query_row("SELECT count(*) FROM visits", [], |r| r.get::<_, i64>(0)).is_err());
    drop(c);
    // Opened again: the same, and no second conversion.
    let mut s = DeviceStore::open(&moved).unwrap();
    assert_eq!(held(&s), before);
    // And it goes on: the next visit takes the next sequence number.
    let v = s.record_visit(&draft(), now()).unwrap();
    assert_eq!(v.device_seq.get(), 26);
}

/// A conversion interrupted (the app killed while it copied): the next open finds the plain file
/// whole beside the partial copy, discards the copy and converts again.
#[test]
fn an_interrupted_conversion_is_done_again_from_the_whole_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let s = plain_store(&path);
    let before = held(&s);
    drop(s);
    std::fs::write(converting_path(&path), vec![0xA5u8; 3 * 4096 + 17]).unwrap();
    std::fs::write(sidecar(&converting_path(&path), "-journal"), b"partial journal").unwrap();
    // The key was made and kept before the copy began.
    let keys = KeyFile::beside(&path);
    keys.save_new(&DbKey::generate().unwrap()).unwrap();
    let key_before = bytes_of(keys.path());

    let s = DeviceStore::open(&path).unwrap();
    assert_eq!(held(&s), before);
    assert!(!converting_path(&path).exists());
    assert!(!sidecar(&converting_path(&path), "-journal").exists());
    assert_eq!(bytes_of(keys.path()), key_before, "the key kept is the key used");
    drop(s);
    assert!(!is_plain(&path));
}

/// A key store that cannot keep the key: the plain database is not touched.
#[test]
fn a_key_that_cannot_be_kept_leaves_the_plain_database_as_it_was() {
    struct Broken;
    impl KeyStore for Broken {
        fn load(&self) -> Result<Option<DbKey>, KeyError> {
            Ok(None)
        }
        fn save_new(&self, _: &DbKey) -> Result<(), KeyError> {
            Err(KeyError::Platform("keystore unavailable".into()))
        }
        fn forget(&self) -> Result<(), KeyError> {
            Ok(())
        }
        fn describe(&self) -> String {
            "a broken keystore".into()
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let s = plain_store(&path);
    let before = held(&s);
    drop(s);
    let bytes = bytes_of(&path);
    assert!(matches!(DeviceStore::open_with(&path, &Broken), Err(DeviceError::Key(KeyError::Platform(_)))));
    assert_eq!(bytes_of(&path), bytes);
    assert!(!converting_path(&path).exists());
    assert_eq!(held(&DeviceStore::open_unencrypted(&path).unwrap()), before);
}

/// No room for the encrypted copy: the open is refused, the plain file kept whole; with room
/// again, it is converted.
#[test]
fn a_full_disk_during_conversion_keeps_the_plain_database() {
    let disk = SmallDisk::mount("8m");
    let path = disk.dir.path().join("device.db");
    let s = plain_store(&path);
    let before = held(&s);
    drop(s);
    let size = bytes_of(&path).len();
    // Leave about half the room the encrypted copy needs.
    let used: usize = std::fs::read_dir(disk.dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len().div_ceil(4096) as usize * 4096)
        .sum();
    let filler = disk.dir.path().join("filler.bin");
    std::fs::write(&filler, vec![1u8; (8 * 1024 * 1024 - used).saturating_sub(size / 2)]).unwrap();
    let bytes = bytes_of(&path);
    let outcome = DeviceStore::open(&path);
    assert!(matches!(outcome, Err(DeviceError::StorageFull(_))), "{outcome:?} ({size} bytes)");
    assert_eq!(bytes_of(&path), bytes, "the plain file was changed");
    assert!(!converting_path(&path).exists(), "the partial copy was left");
    assert_eq!(held(&DeviceStore::open_unencrypted(&path).unwrap()), before);

    std::fs::remove_file(&filler).unwrap();
    let s = DeviceStore::open(&path).unwrap();
    assert_eq!(held(&s), before);
    drop(s);
    assert!(!is_plain(&path));
}

/// The key file: 64 hex digits, readable by the user only, never replaced; one loosened is
/// tightened again.
#[test]
fn the_key_file_is_private_and_never_replaced() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doorstep.db");
    drop(DeviceStore::open(&path).unwrap());
    let keys = KeyFile::beside(&path);
    assert_eq!(keys.path(), dir.path().join("doorstep.db.key"));
    let mode = std::fs::metadata(keys.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let text = std::fs::read_to_string(keys.path()).unwrap();
    assert_eq!(text.trim().len(), 64);
    assert!(text.trim().chars().all(|c| c.is_ascii_hexdigit()));
    let held = keys.load().unwrap().unwrap();
    assert!(matches!(keys.save_new(&DbKey::generate().unwrap()), Err(KeyError::Exists)));
    assert_eq!(keys.load().unwrap().unwrap().expose(), held.expose());
    assert_eq!(format!("{held:?}"), "DbKey(<redacted>)");
    // No temporary file left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(names.is_empty(), "{names:?}");

    std::fs::set_permissions(keys.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    keys.load().unwrap().unwrap();
    let mode = std::fs::metadata(keys.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");

    // A file that is not a key is refused, never replaced.
    std::fs::write(keys.path(), "not a key").unwrap();
    assert!(matches!(DeviceStore::open(&path), Err(DeviceError::Key(KeyError::Malformed(_)))));
    assert_eq!(std::fs::read_to_string(keys.path()).unwrap(), "not a key");
}

/// Encrypted with our key but another program's application id: still refused.
#[test]
fn an_encrypted_file_of_another_application_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let keys = KeyFile::beside(&path);
    let key = load_or_create(&keys).unwrap();
    let c = Connection::open(&path).unwrap();
    key_connection(&c, &key).unwrap();
    c.execute_batch("PRAGMA application_id = 1234; CREATE TABLE t (x);").unwrap();
    drop(c);
    match DeviceStore::open(&path) {
        Err(DeviceError::Corrupt(m)) => assert!(m.contains("another application"), "{m}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // And a file made by the store is ours.
    let ours = dir.path().join("ours.db");
    drop(DeviceStore::open(&ours).unwrap());
    let c = Connection::open(&ours).unwrap();
    key_connection(&c, &KeyFile::beside(&ours).load().unwrap().unwrap()).unwrap();
    let id: i32 = c.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    assert_eq!(id, APPLICATION_ID);
}

/// An encrypted store opened as plain SQLite (the benchmarks' mode) is refused, not damaged.
#[test]
fn an_encrypted_store_is_not_opened_as_plain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let mut s = DeviceStore::open(&path).unwrap();
    s.record_visit(&draft(), now()).unwrap();
    drop(s);
    let bytes = bytes_of(&path);
    assert!(matches!(DeviceStore::open_unencrypted(&path), Err(DeviceError::Corrupt(_))));
    assert_eq!(bytes_of(&path), bytes);
    assert_eq!(DeviceStore::open(&path).unwrap().queue().unwrap().pending, 1);
}
