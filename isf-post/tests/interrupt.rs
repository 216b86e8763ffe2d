//! An interrupted import removes its temporary database, and the next import removes (and
//! reports) the temporary folders that killed imports left behind. Its own binary: the interrupt
//! flag is process-wide.

mod common;

use isf_post::db::temp::{install_interrupt_flag, Owner, OWNER_FILE};
use isf_post::db::{Database, DbError};
use isf_post::import::{init_isf, ImportError, ImportOptions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn interrupted_import_leaves_nothing_and_leftovers_of_killed_imports_are_removed() {
    let Some(root) = common::shared_path("reference/neuron-9.0.2/network_trial_seed1234") else {
        return;
    };
    let input = root.join("isf_output");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let db = out.join("my.db");
    let flag = Arc::new(AtomicBool::new(false));
    assert!(install_interrupt_flag(Arc::clone(&flag)));

    // A signal before the first key: the import stops at its first checkpoint and removes its
    // temporary database.
    flag.store(true, Ordering::Relaxed);
    let err = init_isf(std::slice::from_ref(&input), &db, &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(err, ImportError::Db(DbError::Interrupted)),
        "{err}"
    );
    assert_eq!(names(&out), Vec::<String>::new());
    flag.store(false, Ordering::Relaxed);

    // What a SIGKILLed import leaves: a temporary database with the owner record of a process
    // that is gone; and one of a process that still runs (this one), which must stay.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let dead = out.join(format!(".tmp.my.db.{dead_pid}.0.1"));
    std::fs::create_dir_all(dead.join("voltage_traces")).unwrap();
    std::fs::write(dead.join("voltage_traces/data.h5"), vec![0u8; 1 << 20]).unwrap();
    let owner = Owner {
        pid: dead_pid,
        start_ticks: Some(1),
        ..Owner::current()
    };
    std::fs::write(dead.join(OWNER_FILE), serde_json::to_vec(&owner).unwrap()).unwrap();
    let live = out.join(".tmp.my.db.live");
    std::fs::create_dir(&live).unwrap();
    std::fs::write(
        live.join(OWNER_FILE),
        serde_json::to_vec(&Owner::current()).unwrap(),
    )
    .unwrap();

    let s = init_isf(std::slice::from_ref(&input), &db, &ImportOptions::default()).unwrap();
    assert_eq!(s.n_trials, 1);
    assert_eq!(s.leftovers.len(), 2, "{:?}", s.leftovers);
    assert!(
        s.leftovers.iter().any(|l| l.contains("removed")
            && l.contains(&format!(".tmp.my.db.{dead_pid}.0.1"))
            && l.contains("no longer runs")),
        "{:?}",
        s.leftovers
    );
    assert!(
        s.leftovers
            .iter()
            .any(|l| l.contains("kept") && l.contains("still writing")),
        "{:?}",
        s.leftovers
    );
    assert_eq!(names(&out), vec![".tmp.my.db.live", "my.db"]);
    // The installed database carries no owner record.
    assert!(!db.join(OWNER_FILE).exists());
    assert!(Database::open(&db).unwrap().contains("voltage_traces"));
}
