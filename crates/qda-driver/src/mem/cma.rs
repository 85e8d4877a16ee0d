//! A CMA area: contiguous page runs, aligned as `cma_alloc` aligns a
//! dma-heap allocation (to `min(get_order(size), 8)` pages), first fit.

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

/// The area's page bitmap.
#[derive(Debug)]
pub struct CmaArea {
    base: u64,
    used: Vec<bool>,
}

impl CmaArea {
    /// An area of `size / 4096` pages at `base`.
    pub fn new(base: u64, size: u64) -> Self {
        CmaArea {
            base,
            used: vec![false; (size / PAGE_SIZE) as usize],
        }
    }
    /// Capacity in bytes.
    pub fn size(&self) -> u64 {
        self.used.len() as u64 * PAGE_SIZE
    }
    /// Bytes allocated.
    pub fn used_bytes(&self) -> u64 {
        self.used.iter().filter(|u| **u).count() as u64 * PAGE_SIZE
    }
    /// First fit of `ceil(size / 4096)` pages at an aligned start.
    pub fn alloc(&mut self, size: u64) -> Option<CmaRun> {
        let count = size.div_ceil(PAGE_SIZE) as usize;
        if count == 0 || count > self.used.len() {
            return None;
        }
        let align = 1usize << get_order(size).min(CMA_ALIGNMENT);
        let mut start = 0;
        while start + count <= self.used.len() {
            match self.used[start..start + count].iter().rposition(|u| *u) {
                None => {
                    self.used[start..start + count].fill(true);
                    return Some(CmaRun {
                        addr: self.base + start as u64 * PAGE_SIZE,
                        page: start,
                        count,
                    });
                }
                Some(busy) => start = (start + busy + 1).next_multiple_of(align),
            }
        }
        None
    }
    /// Release a run.
    pub fn free(&mut self, run: CmaRun) {
        if let Some(s) = self.used.get_mut(run.page..run.page + run.count) {
            s.fill(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
