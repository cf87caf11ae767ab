//! The real-directory storage: write, sync, reopen, recover.

use engine::{Db, DirStorage, Error, KeyRange, Options, Storage};

#[test]
fn commits_survive_reopening_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path()).unwrap();
        for i in 0..50u32 {
            let mut t = db.begin();
            t.put(format!("k/{i:03}").as_bytes(), &i.to_le_bytes()).unwrap();
            t.commit().unwrap();
        }
        let mut t = db.begin();
        t.delete(b"k/007").unwrap();
        t.commit().unwrap();
        db.checkpoint().unwrap();
        let mut t = db.begin();
        t.put(b"after-checkpoint", b"yes").unwrap();
        t.commit().unwrap();
    }
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(db.last_seq(), 52);
    let mut t = db.begin();
    assert_eq!(t.get(b"k/007").unwrap(), None);
    assert_eq!(t.get(b"k/008").unwrap().as_deref(), Some(&8u32.to_le_bytes()[..]));
    assert_eq!(t.get(b"after-checkpoint").unwrap().as_deref(), Some(&b"yes"[..]));
    assert_eq!(t.list(&KeyRange::prefix("k/"), usize::MAX).unwrap().len(), 49);
    let names = DirStorage::open(dir.path()).unwrap().list().unwrap();
    assert_eq!(names, vec![engine::files::snapshot(1), engine::files::wal(1)]);
}

#[test]
fn a_torn_tail_on_disk_is_discarded_and_damage_in_the_middle_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open_with(DirStorage::open(dir.path()).unwrap(), Options::default()).unwrap();
        for i in 0..3u8 {
            let mut t = db.begin();
            t.put(&[i], &[i; 10]).unwrap();
            t.commit().unwrap();
        }
    }
    let wal = dir.path().join(engine::files::wal(0));
    let bytes = std::fs::read(&wal).unwrap();
    std::fs::write(&wal, &bytes[..bytes.len() - 5]).unwrap();
    assert_eq!(Db::open(dir.path()).unwrap().last_seq(), 2);

    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path()).unwrap();
        for i in 0..3u8 {
            let mut t = db.begin();
            t.put(&[i], &[i; 10]).unwrap();
            t.commit().unwrap();
        }
    }
    let wal = dir.path().join(engine::files::wal(0));
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes[12] ^= 0x40;
    std::fs::write(&wal, &bytes).unwrap();
    assert!(matches!(Db::open(dir.path()), Err(Error::Corrupt(_))));
}

#[test]
fn an_append_synced_appends_to_the_named_file_and_fails_on_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut storage = DirStorage::open(dir.path()).unwrap();
    storage.create("f").unwrap();
    storage.append("f", b"abc").unwrap();
    storage.append_synced("f", b"def").unwrap();
    assert_eq!(storage.read("f").unwrap().unwrap()[..], b"abcdef"[..]);
    let err = storage.append_synced("missing", b"x").unwrap_err();
    assert!(err.to_string().contains("append missing"), "{err}");
}
