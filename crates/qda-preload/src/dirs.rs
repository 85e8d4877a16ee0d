//! Directory listings of the board: `opendir` of `/dev`, `/dev/accel`,
//! `/dev/dma_heap`, `/sys/class/remoteproc[/remoteprocN]` and
//! `/sys/firmware/devicetree[/base]` gives a listing the shim made
//! (`/dev`'s real entries plus the board's; the others only the board's),
//! which `readdir`, `rewinddir` and `closedir` walk. The `DIR *` the
//! program holds is the address of a [`Listing`]; any other `DIR *` is
//! libc's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::board;
use crate::files::Answer;

/// One listing.
#[derive(Debug)]
pub(crate) struct Listing {
    entries: Vec<(String, u8)>,
    pos: usize,
    ent: libc::dirent64,
}

static DIRS: Mutex<Option<HashMap<usize, Box<Listing>>>> = Mutex::new(None);
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The table's lock (for `fork`).
pub(crate) fn lock() -> MutexGuard<'static, impl Sized> {
    qda_rt::lock(&DIRS)
}

/// Real entries of `dir`, read with `getdents64` (not through `opendir`,
/// which is this shim's).
fn real_entries(dir: &str) -> Vec<(String, u8)> {
    let Ok(fd) = rustix::fs::open(
        dir,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) else {
        return Vec::new();
    };
    let Ok(d) = rustix::fs::Dir::read_from(&fd) else {
        return Vec::new();
    };
    d.flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str().ok()?.to_string();
            let t = match e.file_type() {
                rustix::fs::FileType::Directory => libc::DT_DIR,
                rustix::fs::FileType::RegularFile => libc::DT_REG,
                rustix::fs::FileType::CharacterDevice => libc::DT_CHR,
                rustix::fs::FileType::BlockDevice => libc::DT_BLK,
                rustix::fs::FileType::Symlink => libc::DT_LNK,
                rustix::fs::FileType::Fifo => libc::DT_FIFO,
                rustix::fs::FileType::Socket => libc::DT_SOCK,
                _ => libc::DT_UNKNOWN,
            };
            Some((name, t))
        })
        .collect()
}

/// `opendir` of a resolved path: the listing's address, or `None` to pass.
pub fn opendir(path: &str) -> Option<Answer> {
    if path != "/dev" && !board::candidate(path) {
        return None;
    }
    let p = board::get()?;
    let ours = p.children(path)?;
    let mut entries: Vec<(String, u8)> = if path == "/dev" {
        real_entries(path)
            .into_iter()
            .filter(|(n, _)| !ours.iter().any(|(o, _)| o == n))
            .collect()
    } else {
        vec![(".".into(), libc::DT_DIR), ("..".into(), libc::DT_DIR)]
    };
    entries.extend(ours);
    let l = Box::new(Listing {
        entries,
        pos: 0,
        ent: libc::dirent64 {
            d_ino: 0,
            d_off: 0,
            d_reclen: 0,
            d_type: 0,
            d_name: [0; 256],
        },
    });
    let addr = &*l as *const Listing as usize;
    qda_rt::lock(&DIRS).get_or_insert_with(HashMap::new).insert(addr, l);
    LIVE.fetch_add(1, Ordering::AcqRel);
    crate::trace!("opendir {path}");
    Some(Ok(addr as i64))
}

/// Whether `dir` is one of the shim's listings.
pub fn is_ours(dir: usize) -> bool {
    LIVE.load(Ordering::Acquire) != 0 && qda_rt::lock(&DIRS).as_ref().is_some_and(|d| d.contains_key(&dir))
}

/// The next entry of listing `dir`: the address of its `dirent64`, valid
/// until the next call on `dir`, or 0 at the end.
pub fn readdir(dir: usize) -> usize {
    let mut t = qda_rt::lock(&DIRS);
    let Some(l) = t.as_mut().and_then(|d| d.get_mut(&dir)) else {
        return 0;
    };
    let Some((name, kind)) = l.entries.get(l.pos).cloned() else {
        return 0;
    };
    l.pos += 1;
    l.ent.d_ino = name
        .bytes()
        .fold(0x811c_9dc5u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0193))
        | 1;
    l.ent.d_off = l.pos as i64;
    l.ent.d_type = kind;
    l.ent.d_name = [0; 256];
    for (d, s) in l.ent.d_name.iter_mut().zip(name.bytes().take(255)) {
        *d = s as libc::c_char;
    }
    l.ent.d_reclen = std::mem::size_of::<libc::dirent64>() as u16;
    &l.ent as *const libc::dirent64 as usize
}

/// Back to the first entry.
pub fn rewind(dir: usize) {
    if let Some(l) = qda_rt::lock(&DIRS).as_mut().and_then(|d| d.get_mut(&dir)) {
        l.pos = 0;
    }
}

/// Free the listing.
pub fn close(dir: usize) -> i32 {
    let l = qda_rt::lock(&DIRS).as_mut().and_then(|d| d.remove(&dir));
    if l.is_some() {
        LIVE.fetch_sub(1, Ordering::AcqRel);
        0
    } else {
        -1
    }
}
