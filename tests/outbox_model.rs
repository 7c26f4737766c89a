//! The outbox and the server's receipts as a state machine, under random interleavings (proptest):
//! record (a record the server refuses among them, and revisits of households recorded before),
//! send a batch, the receipt lost on the way back, the same batch delivered again, the phone
//! restarted. After every step: nothing the phone recorded is lost, the server holds none the
//! phone did not make, only refused records are marked refused, every record the phone has
//! cleared is on the server, and the figures the server keeps on ingest are those the phone's
//! records call for (each household's visit count and latest visit, `area_stats` against a
//! recount, coverage), so a duplicate counted again fails. At the end, once the phone drains, the
//! server holds exactly what the phone recorded but the refused ones, which stay on the phone,
//! marked.
//!
//! The real `DeviceStore` (SQLite file) and the real `SqliteStore` ingest, in process: the
//! transport is left out (it is the harness' subject in `sync.rs`); what is tested here is what
//! the two stores do with whatever arrives, in whatever order.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{FixedOffset, Utc};
use doorstep_device::{DeviceStore, OutboxEntry};
use doorstep_domain::values::{AreaCode, Id};
use doorstep_domain::{Campaign, Lang, ValidationContext, Visit, VisitInput};
use doorstep_server::Store;
use doorstep_server::db::ingest::{Incoming, IngestBatch};
use doorstep_server::sqlite::SqliteStore;
use doorstep_tests::{COMMUNES_436, three_tier_file};
use proptest::prelude::*;
use rand::SeedableRng;

#[derive(Debug, Clone)]
enum Op {
    /// The volunteer saves this many visits.
    Record(usize),
    /// A visit the server will refuse (an area it does not know): it must stay on the phone,
    /// refused with the reason, without holding up the others.
    RecordRefused,
    /// The volunteer comes back to a household recorded before (the one at this index, modulo
    /// how many there are): its visit count and latest visit (in receive order) change.
    Revisit(usize),
    /// The phone sends its next batch of at most this many; the answer is lost on the way back
    /// (the server committed) when `lose` holds.
    Send { max: usize, lose: bool },
    /// The last batch sent arrives again (a retry after a timeout, a proxy replaying it).
    Redeliver,
    /// The app is killed and started again: the store is reopened from its file.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1usize..4).prop_map(Op::Record),
        1 => Just(Op::RecordRefused),
        2 => any::<usize>().prop_map(Op::Revisit),
        4 => (1usize..6, any::<bool>()).prop_map(|(max, lose)| Op::Send { max, lose }),
        1 => Just(Op::Redeliver),
        1 => Just(Op::Restart),
    ]
}

struct World {
    rt: tokio::runtime::Runtime,
    server: Arc<SqliteStore>,
    server_path: PathBuf,
    device: DeviceStore,
    device_path: PathBuf,
    campaign: Campaign,
    rng: rand::rngs::StdRng,
    recorded: usize,
    /// The records the server refuses.
    refused: BTreeSet<(String, i64)>,
    /// The households of valid visits, (id, area), for revisits.
    households: Vec<(uuid::Uuid, String)>,
    /// The server's database, for the figures' checks.
    server_db: doorstep_tests::TestDb,
    last_batch: Vec<OutboxEntry>,
    _dir: tempfile::TempDir,
}

impl World {
    fn new(seed: u64) -> World {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let server_path = dir.path().join("server.db");
        let server = Arc::new(SqliteStore::open(&server_path).unwrap());
        let tree = std::fs::read_to_string(three_tier_file()).unwrap();
        rt.block_on(server.import_areas(doorstep_domain::area::parse_gso_tree(&tree).unwrap())).unwrap();
        let device_path = dir.path().join("device.db");
        let device = DeviceStore::open(&device_path).unwrap();
        World {
            server_db: doorstep_tests::TestDb::sqlite_at(&server_path),
            rt,
            server,
            server_path,
            device,
            device_path,
            campaign: Campaign::bluezone(),
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            recorded: 0,
            refused: BTreeSet::new(),
            households: Vec::new(),
            last_batch: Vec::new(),
            _dir: dir,
        }
    }

    fn record(&mut self, n: usize, area: Option<&str>) {
        for _ in 0..n {
            self.record_one(None, area);
        }
    }

    /// Records one visit: to a household recorded before (`again`) or a new one, in `area` if
    /// given (one the server does not know) or else in a commune of district 436.
    fn record_one(&mut self, again: Option<(uuid::Uuid, String)>, area: Option<&str>) {
        let offset = FixedOffset::east_opt(7 * 3600).unwrap();
        let known = match &again {
            Some((_, area)) => area.clone(),
            None => COMMUNES_436[self.recorded % COMMUNES_436.len()].to_string(),
        };
        let mut draft = doorstep::generate::visit(
            &mut self.rng,
            again.as_ref().map(|(id, _)| *id),
            &known,
            doorstep::generate::base_point(&known, Some("436")),
        );
        if let Some(area) = area {
            draft.area_code = area.to_string();
        }
        let visit = self.device.record_visit(&draft, Utc::now().with_timezone(&offset)).unwrap();
        if area.is_some() {
            self.refused.insert((visit.id.to_string(), visit.revision.get()));
        } else if again.is_none() {
            self.households.push((visit.household.id.uuid(), known));
        }
        self.recorded += 1;
    }

    /// The server's answer to a batch, as its ingest gives it after commit.
    fn deliver(&self, batch: &[OutboxEntry]) -> Vec<doorstep_domain::protocol::Receipt> {
        let now = Utc::now();
        let ctx = ValidationContext { campaign: &self.campaign, device_now: now, server_now: Some(now) };
        let records = batch
            .iter()
            .map(|e| {
                let input: VisitInput = serde_json::from_str(&e.body).unwrap();
                Incoming::valid(Visit::parse(&input, &ctx).unwrap())
            })
            .collect();
        let ingest = IngestBatch {
            device_id: Id::parse("device_id", &self.device.device_id().to_string()).unwrap(),
            received_at: now,
            clock_skew_ms: 0,
            lang: Lang::Vi,
            records,
            volunteer_id: None,
            scope: Vec::new(),
            rules: doorstep_domain::quality::QualityRules::for_campaign(&self.campaign),
            revoked_device: false,
            app_version: None,
        };
        self.rt.block_on(self.server.ingest(ingest)).unwrap()
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Record(n) => self.record(n, None),
            Op::RecordRefused => self.record(1, Some("99999")),
            Op::Revisit(pick) => {
                if !self.households.is_empty() {
                    let again = self.households[pick % self.households.len()].clone();
                    self.record_one(Some(again), None);
                }
            }
            Op::Send { max, lose } => {
                let batch = self.device.next_batch(max).unwrap();
                if batch.is_empty() {
                    return;
                }
                let receipts = self.deliver(&batch);
                if !lose {
                    self.device.apply_receipts(&batch, &receipts).unwrap();
                }
                self.last_batch = batch;
            }
            Op::Redeliver => {
                if self.last_batch.is_empty() {
                    return;
                }
                let batch = self.last_batch.clone();
                let receipts = self.deliver(&batch);
                self.device.apply_receipts(&batch, &receipts).unwrap();
            }
            Op::Restart => {
                self.device = DeviceStore::open(&self.device_path).unwrap();
            }
        }
    }

    fn server_ids(&self) -> Vec<(String, i64)> {
        let conn = rusqlite::Connection::open_with_flags(&self.server_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
        doorstep_server::sqlite::visit_ids(&conn).unwrap()
    }

    /// What must hold after any step.
    fn check(&self) -> Result<(), TestCaseError> {
        let recorded: BTreeSet<(String, i64)> = self.device.recorded_ids().unwrap().into_iter().collect();
        prop_assert_eq!(recorded.len(), self.recorded, "the phone lost or doubled a record");
        let held = self.server_ids();
        let held_set: BTreeSet<(String, i64)> = held.iter().cloned().collect();
        prop_assert!(held_set.is_subset(&recorded), "the server holds a record nobody recorded");
        prop_assert!(held_set.is_disjoint(&self.refused), "the server stored a record it must refuse");
        let q = self.device.queue().unwrap();
        prop_assert_eq!((q.pending + q.sent + q.rejected) as usize, self.recorded);
        // Only the records the server refuses are marked refused on the phone.
        let marked: BTreeSet<(String, i64)> =
            self.device.rejected().unwrap().into_iter().map(|r| (r.id, r.revision)).collect();
        prop_assert!(marked.is_subset(&self.refused), "a valid record was marked refused");
        // Cleared on the phone means held on the server (or refused by it, and kept marked).
        let pending: BTreeSet<(String, i64)> =
            self.device.next_batch(usize::MAX).unwrap().into_iter().map(|e| (e.id, e.revision)).collect();
        for id in recorded.difference(&pending).filter(|id| !marked.contains(*id)) {
            prop_assert!(held_set.contains(id), "{id:?} was cleared on the phone but is not on the server");
        }
        // The figures the server keeps on ingest are those the phone's records call for, for the
        // records it holds: each household's visit count and latest visit (receive order),
        // area_stats against a recount, coverage. A duplicate (a lost receipt, a redelivery)
        // counted again, or a revisit that did not move its household, fails here.
        let phone = doorstep_tests::PhoneRecords::read(&self.device_path);
        let mut coverage = std::collections::BTreeMap::new();
        for code in doorstep_tests::areas_above(&self.server_db, &phone) {
            let area = AreaCode::parse("area", &code).unwrap();
            let answer = self
                .rt
                .block_on(doorstep_server::coverage::coverage(&*self.server, &area))
                .unwrap()
                .expect("a known area")
                .with_campaign(&self.campaign);
            coverage.insert(code, serde_json::to_value(answer).unwrap());
        }
        if let Err(e) = doorstep_tests::check_figures(&self.server_db, &phone, &held, &coverage) {
            prop_assert!(false, "{}", e);
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn nothing_is_lost_or_doubled_whatever_the_order(seed in any::<u64>(), ops in prop::collection::vec(op(), 1..40)) {
        let mut w = World::new(seed);
        for op in &ops {
            w.apply(op);
            w.check()?;
        }
        // The network comes back for good: the phone drains, and the two sides agree exactly.
        loop {
            let batch = w.device.next_batch(7).unwrap();
            if batch.is_empty() {
                break;
            }
            let receipts = w.deliver(&batch);
            w.device.apply_receipts(&batch, &receipts).unwrap();
        }
        w.check()?;
        let recorded: BTreeSet<(String, i64)> = w.device.recorded_ids().unwrap().into_iter().collect();
        let held: BTreeSet<(String, i64)> = w.server_ids().into_iter().collect();
        let refused: BTreeSet<(String, i64)> =
            w.device.rejected().unwrap().into_iter().map(|r| (r.id, r.revision)).collect();
        prop_assert_eq!(&refused, &w.refused, "every refused record is kept, marked, on the phone");
        prop_assert_eq!(held, recorded.difference(&refused).cloned().collect::<BTreeSet<_>>());
        prop_assert_eq!(w.device.queue().unwrap().pending, 0);
    }
}
