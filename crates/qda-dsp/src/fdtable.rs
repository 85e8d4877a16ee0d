//! A PD's buffers by fd: what `HAP_mmap_get`, `HAP_mmap_put` and
//! `adsp_mmap_fd_getinfo` look up.
//!
//! The DSP registers every handle argument of a call (`in`/`out`
//! `dmahandle`: the client's fd, the whole buffer mapped) for the duration of
//! the call. A skel that takes a reference with `HAP_mmap_get` keeps the
//! mapping past the call until its `HAP_mmap_put`; a reference never put
//! lasts until the PD exits (the table goes with it). A buffer the client
//! maps persistently by fd (MEM_MAP / REMOTE_MAP by fd) is known until its
//! unmap.
//!
//! Which table a runtime call reaches: the one of the PD whose skel the
//! calling thread is running (set by the DSP around each call, [`enter`]),
//! else the process's default table (a PD host has one PD, so threads a
//! skel starts find it too; a thread PD has no default).

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use qda_rt::lock;

use crate::aee;

/// What keeps a registered buffer mapped.
pub(crate) type Keep = Arc<dyn Any + Send + Sync>;

/// One buffer known by fd.
#[derive(Debug)]
struct Entry {
    /// Where the whole buffer is mapped in this process.
    addr: usize,
    /// The buffer's size.
    len: usize,
    /// Its address as the DSP sees it (the SMMU address of byte 0).
    dsp_addr: u64,
    /// The mappings it was registered with (more than one when the fd
    /// came to name another buffer while a skel held the first).
    keeps: Vec<Keep>,
    /// Calls in progress that pass it.
    calls: u32,
    /// `HAP_mmap_get`s not yet put.
    users: u32,
    /// Persistent maps of the fd (MEM_MAP) not yet unmapped.
    maps: u32,
}

impl Entry {
    fn unused(&self) -> bool {
        self.calls == 0 && self.users == 0 && self.maps == 0
    }
}

/// A PD's buffers by fd (see the [module documentation](self)).
#[derive(Debug, Default)]
pub struct FdTable {
    entries: Mutex<HashMap<i32, Entry>>,
}

/// A buffer a call passes by fd.
#[derive(Debug, Clone)]
pub(crate) struct FdBuffer {
    /// The client's fd (a key only).
    pub fd: i32,
    /// Where the whole buffer is mapped in this process.
    pub addr: *mut u8,
    /// The buffer's size.
    pub len: usize,
    /// Its DSP address.
    pub dsp_addr: u64,
    /// What keeps it mapped.
    pub keep: Keep,
}

impl FdTable {
    /// Register `bufs` for a call; they go when the returned guard drops
    /// (and, for those a skel holds with `HAP_mmap_get`, at its put).
    pub(crate) fn register(self: &Arc<Self>, bufs: Vec<FdBuffer>) -> CallFds {
        let fds = bufs.iter().map(|b| b.fd).collect();
        for b in bufs {
            self.add(b, false);
        }
        CallFds {
            table: self.clone(),
            fds,
        }
    }

    /// A persistent map of `b.fd` (MEM_MAP): known until [`FdTable::unmap`].
    pub(crate) fn map(&self, b: FdBuffer) {
        self.add(b, true);
    }

    /// The persistent map of `fd` goes (MEM_UNMAP); false if there was none.
    pub(crate) fn unmap(&self, fd: i32) -> bool {
        let mut e = lock(&self.entries);
        let Some(en) = e.get_mut(&fd).filter(|en| en.maps > 0) else {
            return false;
        };
        en.maps -= 1;
        if en.unused() {
            e.remove(&fd);
        }
        true
    }

    fn add(&self, b: FdBuffer, persistent: bool) {
        let mut e = lock(&self.entries);
        let en = e.entry(b.fd).or_insert_with(|| Entry {
            addr: b.addr as usize,
            len: b.len,
            dsp_addr: b.dsp_addr,
            keeps: Vec::new(),
            calls: 0,
            users: 0,
            maps: 0,
        });
        // The same fd in two arguments or two calls at once is one entry
        // (the fd names one buffer of the client). If the client's fd
        // number now names another buffer, that is the one the fd finds
        // from now on; what a skel got before stays mapped until the entry
        // goes.
        if en.keeps.is_empty() || (en.dsp_addr, en.len) != (b.dsp_addr, b.len) {
            en.addr = b.addr as usize;
            en.len = b.len;
            en.dsp_addr = b.dsp_addr;
            en.keeps.push(b.keep);
        }
        if persistent {
            en.maps += 1;
        } else {
            en.calls += 1;
        }
    }

    /// `HAP_mmap_get`: the buffer's address here and its DSP address; one
    /// more reference. `AEE_ENOSUCHMAP` for an fd the PD does not know.
    pub fn get(&self, fd: i32) -> Result<(usize, u64), i32> {
        let mut e = lock(&self.entries);
        let en = e.get_mut(&fd).ok_or(aee::ENOSUCHMAP)?;
        en.users = en.users.checked_add(1).ok_or(aee::EBADMAPREFCNT)?;
        Ok((en.addr, en.dsp_addr))
    }

    /// `HAP_mmap_put`: one reference less; the buffer goes when no call
    /// passes it and no reference is left.
    pub fn put(&self, fd: i32) -> Result<(), i32> {
        let mut e = lock(&self.entries);
        let en = e.get_mut(&fd).ok_or(aee::ENOSUCHMAP)?;
        if en.users == 0 {
            return Err(aee::EBADMAPREFCNT);
        }
        en.users -= 1;
        if en.unused() {
            e.remove(&fd);
        }
        Ok(())
    }

    /// `HAP_munmap`: put the reference a `HAP_mmap` took on the buffer
    /// `addr` lies in.
    pub fn put_addr(&self, addr: usize) -> Result<(), i32> {
        let fd = lock(&self.entries)
            .iter()
            .find(|(_, en)| en.users > 0 && addr >= en.addr && addr - en.addr < en.len.max(1))
            .map(|(fd, _)| *fd)
            .ok_or(aee::ENOSUCHMAP)?;
        self.put(fd)
    }

    /// `adsp_mmap_fd_getinfo`: the buffer's size.
    pub fn len(&self, fd: i32) -> Result<u32, i32> {
        let e = lock(&self.entries);
        let en = e.get(&fd).ok_or(aee::ENOSUCHMAP)?;
        u32::try_from(en.len).map_err(|_| aee::EBADPARM)
    }

    /// The fds known now.
    #[cfg(test)]
    fn fds(&self) -> Vec<i32> {
        let mut v: Vec<i32> = lock(&self.entries).keys().copied().collect();
        v.sort_unstable();
        v
    }

    fn end_call(&self, fds: &[i32]) {
        let mut e = lock(&self.entries);
        for fd in fds {
            if let Some(en) = e.get_mut(fd) {
                en.calls = en.calls.saturating_sub(1);
                if en.unused() {
                    e.remove(fd);
                }
            }
        }
    }
}

/// The fds a call registered; dropped at the end of the call.
#[derive(Debug)]
pub(crate) struct CallFds {
    table: Arc<FdTable>,
    fds: Vec<i32>,
}

impl Drop for CallFds {
    fn drop(&mut self) {
        self.table.end_call(&self.fds);
    }
}

thread_local! {
    /// The table of the PD whose skel this thread runs.
    static CURRENT: RefCell<Option<Arc<FdTable>>> = const { RefCell::new(None) };
}

/// The process's default table (a PD host's one PD).
static DEFAULT: OnceLock<Arc<FdTable>> = OnceLock::new();

/// Make `t` the process's default table (once; later calls are ignored).
pub(crate) fn set_default(t: Arc<FdTable>) {
    let _ = DEFAULT.set(t);
}

/// The table a runtime call on this thread reaches.
pub(crate) fn current() -> Option<Arc<FdTable>> {
    CURRENT.with(|c| c.borrow().clone()).or_else(|| DEFAULT.get().cloned())
}

/// Run this thread's skel calls against `t` until the guard drops.
pub(crate) fn enter(t: Arc<FdTable>) -> Entered {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(t));
    Entered { prev }
}

/// Restores the thread's previous table.
#[derive(Debug)]
pub(crate) struct Entered {
    prev: Option<Arc<FdTable>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(fd: i32, keep: &Keep) -> FdBuffer {
        FdBuffer {
            fd,
            addr: 0x1000 as *mut u8,
            len: 64,
            dsp_addr: 0x8000_0000,
            keep: keep.clone(),
        }
    }

    #[test]
    fn a_call_registers_its_fds_for_its_duration() {
        let t = Arc::new(FdTable::default());
        let keep: Keep = Arc::new(7u32);
        assert_eq!(t.get(5), Err(aee::ENOSUCHMAP));
        let call = t.register(vec![buf(5, &keep)]);
        assert_eq!(t.len(5), Ok(64));
        assert_eq!(t.get(5), Ok((0x1000, 0x8000_0000)));
        assert_eq!(t.put(5), Ok(()));
        assert_eq!(t.put(5), Err(aee::EBADMAPREFCNT), "a put without a get");
        assert_eq!(t.put_addr(0x1010), Err(aee::ENOSUCHMAP), "no reference to put");
        t.get(5).unwrap();
        assert_eq!(t.put_addr(0x1000 + 64), Err(aee::ENOSUCHMAP), "past its end");
        assert_eq!(t.put_addr(0x1010), Ok(()));
        drop(call);
        assert!(t.fds().is_empty());
        assert_eq!(Arc::strong_count(&keep), 1, "the mapping went with the call");
    }

    #[test]
    fn a_get_keeps_the_buffer_past_its_call_until_put() {
        let t = Arc::new(FdTable::default());
        let keep: Keep = Arc::new(7u32);
        let call = t.register(vec![buf(9, &keep), buf(9, &keep)]);
        t.get(9).unwrap();
        drop(call);
        assert_eq!(t.fds(), vec![9], "held by the skel");
        assert_eq!(t.len(9), Ok(64));
        t.put(9).unwrap();
        assert!(t.fds().is_empty());
        assert_eq!(Arc::strong_count(&keep), 1);
        assert_eq!(t.put(9), Err(aee::ENOSUCHMAP));
    }

    #[test]
    fn an_fd_that_names_another_buffer_finds_the_new_one() {
        let t = Arc::new(FdTable::default());
        let (k1, k2): (Keep, Keep) = (Arc::new(1u32), Arc::new(2u32));
        let first = t.register(vec![buf(4, &k1)]);
        t.get(4).unwrap();
        drop(first);
        let mut other = buf(4, &k2);
        other.dsp_addr = 0x9000_0000;
        other.len = 128;
        let second = t.register(vec![other]);
        assert_eq!(t.len(4), Ok(128));
        assert_eq!(t.get(4).unwrap().1, 0x9000_0000);
        assert_eq!(Arc::strong_count(&k1), 2, "what the skel got first stays mapped");
        drop(second);
        t.put(4).unwrap();
        t.put(4).unwrap();
        assert_eq!((Arc::strong_count(&k1), Arc::strong_count(&k2)), (1, 1));
    }

    #[test]
    fn a_persistent_map_lasts_until_unmapped() {
        let t = Arc::new(FdTable::default());
        let keep: Keep = Arc::new(7u32);
        t.map(buf(6, &keep));
        drop(t.register(vec![buf(6, &keep)]));
        assert_eq!(t.len(6), Ok(64), "mapped, no call");
        t.get(6).unwrap();
        assert!(t.unmap(6));
        assert!(!t.unmap(6), "once");
        assert_eq!(t.fds(), vec![6], "still got");
        t.put(6).unwrap();
        assert!(t.fds().is_empty());
        assert_eq!(Arc::strong_count(&keep), 1);
    }

    #[test]
    fn the_current_table_is_per_thread() {
        let t = Arc::new(FdTable::default());
        assert!(current().is_none());
        {
            let _g = enter(t.clone());
            assert!(Arc::ptr_eq(&current().unwrap(), &t));
            std::thread::scope(|s| {
                s.spawn(|| assert!(current().is_none(), "another thread: no PD"));
            });
        }
        assert!(current().is_none());
    }
}
