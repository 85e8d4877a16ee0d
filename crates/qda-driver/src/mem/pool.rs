//! The per-device coherent pool allocator of `kernel/dma/coherent.c`.
//!
//! A pool is a bitmap with one bit per page. An allocation of `size` bytes
//! takes `2^get_order(size)` pages at the **first** start position that is a
//! multiple of `2^order` pages from the pool start and whose whole run is
//! free (`bitmap_find_free_region`); it is released as the same run. The
//! kernel zeroes only the requested bytes; qda's backings are fresh memfds,
//! so every byte reads as zero anyway.

/// Page size of the pool.
pub const PAGE_SIZE: u64 = 4096;

/// The kernel's `get_order`: the smallest `order` with
/// `PAGE_SIZE << order >= size` (0 for sizes up to one page).
pub fn get_order(size: u64) -> u32 {
    let pages = size.div_ceil(PAGE_SIZE).max(1);
    pages.next_power_of_two().trailing_zeros()
}

/// One allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolAlloc {
    /// Address: `base + page * PAGE_SIZE`.
    pub addr: u64,
    /// First page.
    pub page: usize,
    /// The run is `2^order` pages.
    pub order: u32,
    /// Bytes requested.
    pub size: u64,
}

/// Why a free was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The run does not lie inside the pool.
    #[error("0x{addr:x} (2^{order} pages) is outside the pool")]
    Outside {
        /// Address given.
        addr: u64,
        /// Order given.
        order: u32,
    },
    /// The page is not aligned to its order.
    #[error("page {page} is not aligned to 2^{order} pages")]
    Misaligned {
        /// Page given.
        page: usize,
        /// Order given.
        order: u32,
    },
    /// Part of the run is not allocated (double free).
    #[error("pages {page}..+2^{order} are not all allocated")]
    NotAllocated {
        /// Page given.
        page: usize,
        /// Order given.
        order: u32,
    },
}

/// A coherent pool over `[base, base + pages * PAGE_SIZE)`.
#[derive(Debug)]
pub struct CoherentPool {
    base: u64,
    pages: usize,
    used: Vec<bool>,
}

impl CoherentPool {
    /// A pool of `size / PAGE_SIZE` whole pages at `base` (page aligned).
    pub fn new(base: u64, size: u64) -> Self {
        debug_assert_eq!(base % PAGE_SIZE, 0, "pool base must be page aligned");
        let pages = (size / PAGE_SIZE) as usize;
        CoherentPool {
            base,
            pages,
            used: vec![false; pages],
        }
    }
    /// Base address.
    pub fn base(&self) -> u64 {
        self.base
    }
    /// Capacity in bytes.
    pub fn size(&self) -> u64 {
        self.pages as u64 * PAGE_SIZE
    }
    /// Capacity in pages.
    pub fn pages(&self) -> usize {
        self.pages
    }
    /// First-fit naturally aligned power-of-two run; `None` for size 0, a
    /// size above the pool, or no free aligned run.
    pub fn alloc(&mut self, size: u64) -> Option<PoolAlloc> {
        if size == 0 || size > self.size() {
            return None;
        }
        let order = get_order(size);
        let run = 1usize << order;
        let mut page = 0;
        while page + run <= self.pages {
            if self.used[page..page + run].iter().all(|u| !u) {
                self.used[page..page + run].fill(true);
                return Some(PoolAlloc {
                    addr: self.base + page as u64 * PAGE_SIZE,
                    page,
                    order,
                    size,
                });
            }
            page += run;
        }
        None
    }
    /// Release an allocation's run; the bitmap is unchanged on error.
    pub fn free(&mut self, a: &PoolAlloc) -> Result<(), PoolError> {
        let run = 1usize.checked_shl(a.order).unwrap_or(usize::MAX);
        let inside = a.addr >= self.base
            && (a.addr - self.base) % PAGE_SIZE == 0
            && ((a.addr - self.base) / PAGE_SIZE) as usize == a.page
            && a.page.checked_add(run).is_some_and(|end| end <= self.pages);
        if !inside {
            return Err(PoolError::Outside {
                addr: a.addr,
                order: a.order,
            });
        }
        if a.page % run != 0 {
            return Err(PoolError::Misaligned {
                page: a.page,
                order: a.order,
            });
        }
        if !self.used[a.page..a.page + run].iter().all(|u| *u) {
            return Err(PoolError::NotAllocated {
                page: a.page,
                order: a.order,
            });
        }
        self.used[a.page..a.page + run].fill(false);
        Ok(())
    }
    /// Pages in use.
    pub fn used_pages(&self) -> usize {
        self.used.iter().filter(|u| **u).count()
    }
    /// Pages free.
    pub fn free_pages(&self) -> usize {
        self.pages - self.used_pages()
    }
    /// The largest order an allocation could still get, for messages.
    pub fn largest_free_order(&self) -> Option<u32> {
        (0..usize::BITS).rev().find(|&o| {
            let run = 1usize << o;
            run <= self.pages
                && (0..=self.pages - run)
                    .step_by(run)
                    .any(|p| self.used[p..p + run].iter().all(|u| !u))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn orders() {
        assert_eq!(
            [
                get_order(0),
                get_order(1),
                get_order(4096),
                get_order(4097),
                get_order(12288)
            ],
            [0, 0, 0, 1, 2]
        );
        assert_eq!(get_order(20480), 3);
        assert_eq!(get_order(1 << 20), 8);
    }

    /// The worked example of dmabuf.md §1.8 (a 1 MiB pool of 256 pages).
    #[test]
    fn worked_example() {
        let mut p = CoherentPool::new(0x8b00_0000, 1 << 20);
        let a = p.alloc(12 << 10).unwrap();
        assert_eq!((a.page, a.order, a.addr), (0, 2, 0x8b00_0000));
        let b = p.alloc(4 << 10).unwrap();
        assert_eq!(b.page, 4);
        let c = p.alloc(20 << 10).unwrap();
        assert_eq!((c.page, c.order), (8, 3), "order 3 skips the partly used run 0..8");
        let d = p.alloc(8 << 10).unwrap();
        assert_eq!((d.page, d.order), (6, 1), "pages 5..7 stay free for order <= 1");
        let e = p.alloc(4 << 10).unwrap();
        assert_eq!(e.page, 5);
        assert_eq!(p.used_pages(), 4 + 1 + 8 + 2 + 1);
        p.free(&c).unwrap();
        assert_eq!(p.alloc(32 << 10).unwrap().page, 8);
    }

    #[test]
    fn exhaustion_and_free_errors() {
        let mut p = CoherentPool::new(0, 8 * PAGE_SIZE);
        assert!(p.alloc(0).is_none());
        assert!(p.alloc(9 * PAGE_SIZE).is_none());
        let a = p.alloc(5 * PAGE_SIZE).unwrap(); // order 3: the whole pool
        assert_eq!(p.largest_free_order(), None);
        assert!(p.alloc(1).is_none());
        p.free(&a).unwrap();
        assert_eq!(p.free(&a), Err(PoolError::NotAllocated { page: 0, order: 3 }));
        let b = p.alloc(PAGE_SIZE).unwrap();
        let mis = PoolAlloc {
            addr: PAGE_SIZE,
            page: 1,
            order: 1,
            size: 1,
        };
        assert_eq!(p.free(&mis), Err(PoolError::Misaligned { page: 1, order: 1 }));
        let out = PoolAlloc {
            addr: 64 * PAGE_SIZE,
            page: 64,
            order: 0,
            size: 1,
        };
        assert!(matches!(p.free(&out), Err(PoolError::Outside { .. })));
        assert_eq!(p.used_pages(), 1, "failed frees change nothing");
        p.free(&b).unwrap();
        assert_eq!(p.largest_free_order(), Some(3));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc(u64),
        Free(usize),
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        proptest::collection::vec(
            prop_oneof![
                3 => (1u64..=70 * PAGE_SIZE).prop_map(Op::Alloc),
                2 => any::<usize>().prop_map(Op::Free),
            ],
            1..200,
        )
    }

    proptest! {
        /// Against a simple model: the same first-fit answer, no overlap,
        /// natural alignment, exhaustion exactly when no aligned run is free,
        /// and frees restore the space.
        #[test]
        fn matches_a_simple_model(ops in ops()) {
            const PAGES: usize = 64;
            let mut pool = CoherentPool::new(0x1000_0000, PAGES as u64 * PAGE_SIZE);
            let mut model = [false; PAGES];
            let mut live: Vec<PoolAlloc> = Vec::new();
            for op in ops {
                match op {
                    Op::Alloc(size) => {
                        let run = size.div_ceil(PAGE_SIZE).next_power_of_two() as usize;
                        let want = (0..PAGES).step_by(run).find(|&p| p + run <= PAGES && model[p..p + run].iter().all(|u| !u));
                        let got = pool.alloc(size);
                        prop_assert_eq!(got.map(|a| a.page), want);
                        if let Some(a) = got {
                            prop_assert_eq!(a.page % run, 0);
                            prop_assert_eq!(a.addr, 0x1000_0000 + a.page as u64 * PAGE_SIZE);
                            prop_assert_eq!(1usize << a.order, run);
                            prop_assert!(model[a.page..a.page + run].iter().all(|u| !u), "overlap");
                            model[a.page..a.page + run].fill(true);
                            live.push(a);
                        }
                    }
                    Op::Free(i) if !live.is_empty() => {
                        let a = live.swap_remove(i % live.len());
                        pool.free(&a).unwrap();
                        model[a.page..a.page + (1 << a.order)].fill(false);
                    }
                    Op::Free(_) => {}
                }
                prop_assert_eq!(pool.used_pages(), model.iter().filter(|u| **u).count());
            }
            for a in live.drain(..) {
                pool.free(&a).unwrap();
            }
            prop_assert_eq!(pool.used_pages(), 0);
        }
    }
}
