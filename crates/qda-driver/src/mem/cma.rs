//! A CMA area: contiguous page runs, aligned as `cma_alloc` aligns a
//! dma-heap allocation (to `min(get_order(size), 8)` pages), first fit.
//!
//! The area keeps its allocated runs, not a map of its pages: its memory
//! follows what is allocated, not the region's size, so a board's large
//! CMA region costs nothing until it is used.

use std::collections::BTreeMap;

use super::pool::get_order;
use crate::sys::PAGE_SIZE;

/// `CONFIG_CMA_ALIGNMENT` default: alignment is capped at 2^8 pages.
pub const CMA_ALIGNMENT: u32 = 8;

/// One contiguous allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmaRun {
    /// Modelled physical address.
    pub addr: u64,
    /// First page.
    pub page: usize,
    /// Pages.
    pub count: usize,
}

/// The area: its size and its allocated runs.
#[derive(Debug)]
pub struct CmaArea {
    base: u64,
    pages: usize,
    /// Allocated runs, first page → page count (never overlapping).
    runs: BTreeMap<usize, usize>,
    used: usize,
}

impl CmaArea {
    /// An area of `size / 4096` pages at `base`.
    pub fn new(base: u64, size: u64) -> Self {
        CmaArea {
            base,
            pages: usize::try_from(size / PAGE_SIZE).unwrap_or(usize::MAX),
            runs: BTreeMap::new(),
            used: 0,
        }
    }
    /// Capacity in bytes.
    pub fn size(&self) -> u64 {
        self.pages as u64 * PAGE_SIZE
    }
    /// Bytes allocated.
    pub fn used_bytes(&self) -> u64 {
        self.used as u64 * PAGE_SIZE
    }
    /// First fit of `ceil(size / 4096)` pages at an aligned start.
    pub fn alloc(&mut self, size: u64) -> Option<CmaRun> {
        let count = usize::try_from(size.div_ceil(PAGE_SIZE)).ok()?;
        if count == 0 || count > self.pages {
            return None;
        }
        let align = 1usize << get_order(size).min(CMA_ALIGNMENT);
        // The lowest aligned start whose window meets no allocated run.
        let mut start = 0usize;
        for (&s, &c) in &self.runs {
            if s >= start.saturating_add(count) {
                break;
            }
            let end = s + c;
            if end > start {
                start = end.checked_next_multiple_of(align)?;
            }
        }
        if start.checked_add(count)? > self.pages {
            return None;
        }
        self.runs.insert(start, count);
        self.used += count;
        Some(CmaRun {
            addr: self.base + start as u64 * PAGE_SIZE,
            page: start,
            count,
        })
    }
    /// Release a run.
    pub fn free(&mut self, run: CmaRun) {
        if self.runs.get(&run.page) == Some(&run.count) {
            self.runs.remove(&run.page);
            self.used -= run.count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn contiguous_aligned_first_fit() {
        let mut a = CmaArea::new(0x1000_0000, 64 * 4096);
        let x = a.alloc(4096).unwrap(); // 1 page, align 1 → page 0
        let y = a.alloc(3 * 4096).unwrap(); // order 2 → align 4 → page 4
        assert_eq!((x.page, y.page, y.count), (0, 4, 3));
        let z = a.alloc(4096).unwrap(); // page 1
        assert_eq!(z.page, 1);
        assert!(a.alloc(65 * 4096).is_none());
        a.free(y);
        assert_eq!(a.alloc(4 * 4096).unwrap().page, 4);
        assert_eq!(a.used_bytes(), 6 * 4096);
    }

    /// A 64 GiB area (the largest a board may describe) holds no per-page
    /// state: creating it is free, and it serves allocations at its end.
    #[test]
    fn a_large_area_is_lazy() {
        let mut a = CmaArea::new(0x8_0000_0000, 64 << 30);
        assert_eq!((a.size(), a.used_bytes(), a.runs.len()), (64 << 30, 0, 0));
        let big = a.alloc(63 << 30).unwrap();
        let tail = a.alloc(1 << 30).unwrap();
        assert_eq!(tail.addr, 0x8_0000_0000 + (63 << 30));
        assert!(a.alloc(4096).is_none());
        assert!(a.alloc(u64::MAX).is_none());
        a.free(big);
        assert_eq!(a.used_bytes(), 1 << 30);
    }

    /// The page-map area this one replaced, as the reference.
    struct PageMap(Vec<bool>);

    impl PageMap {
        fn alloc(&mut self, size: u64) -> Option<(usize, usize)> {
            let count = size.div_ceil(PAGE_SIZE) as usize;
            if count == 0 || count > self.0.len() {
                return None;
            }
            let align = 1usize << get_order(size).min(CMA_ALIGNMENT);
            let mut start = 0;
            while start + count <= self.0.len() {
                match self.0[start..start + count].iter().rposition(|u| *u) {
                    None => {
                        self.0[start..start + count].fill(true);
                        return Some((start, count));
                    }
                    Some(busy) => start = (start + busy + 1).next_multiple_of(align),
                }
            }
            None
        }
    }

    proptest! {
        /// Same placements as the page map for any sequence of allocations
        /// and frees.
        #[test]
        fn places_as_the_page_map_did(
            pages in 1usize..600,
            ops in proptest::collection::vec((any::<bool>(), 1u64..(300 * 4096), any::<prop::sample::Index>()), 1..60),
        ) {
            let mut a = CmaArea::new(0, pages as u64 * PAGE_SIZE);
            let mut m = PageMap(vec![false; pages]);
            let mut live: Vec<CmaRun> = Vec::new();
            for (alloc, size, pick) in ops {
                if alloc || live.is_empty() {
                    let got = a.alloc(size);
                    prop_assert_eq!(got.map(|r| (r.page, r.count)), m.alloc(size), "alloc {}", size);
                    live.extend(got);
                } else {
                    let r = live.swap_remove(pick.index(live.len()));
                    a.free(r);
                    m.0[r.page..r.page + r.count].fill(false);
                }
                prop_assert_eq!(a.used_bytes(), m.0.iter().filter(|u| **u).count() as u64 * PAGE_SIZE);
            }
        }
    }
}
