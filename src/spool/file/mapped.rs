//! The active segment's appends as stores into a shared memory mapping of the file.
//!
//! A store into a `MAP_SHARED` mapping is in the kernel's page cache as soon as it is made,
//! exactly like the data of a `write()`: it survives a crash of the process, and an fsync of
//! the file makes it durable. An append then costs a copy instead of a system call.
//!
//! The file is extended ahead of the appends, a chunk at a time, by writing zeros, so that its
//! blocks are reserved before any store reaches them: a store past the end of the file, or
//! into a block the disk has no room for, would kill the process with `SIGBUS`. Between the last
//! record and the end of the chunk the file holds zeros, which the next open cuts as a crash
//! tail; rolling the segment and closing the spool cut them at once. A reused segment (see
//! `spare`) has its blocks already: its earlier records are stored over, and the rest is cut
//! the same way.
//!
//! Records are stored one after the other, each completely before the next begins: a copy
//! may write its bytes in any order, and a process killed in the middle of a batch must
//! leave a torn *last* record (a crash tail), never a hole before a whole one (corruption).
//!
//! Mapped only on Linux, on file systems that reserve room at the write and write in place
//! (ext4, XFS, tmpfs): on copy-on-write file systems a store can still need room when it
//! first touches a page, and would get `SIGBUS` instead of an error. Elsewhere, or for a
//! record that does not fit the mapping (one larger than the segment size), the spool writes
//! with `pwrite` instead.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// How far ahead of the appends the file is extended.
const CHUNK: u64 = 1 << 20;

/// A shared, writable mapping of the first `capacity` bytes of the active segment, of which
/// the first `allocated` exist in the file.
pub(super) struct Mapping {
    base: *mut u8,
    capacity: usize,
    /// The file's blocks exist up to here: zeros written ahead, or a recycled segment's
    /// earlier records.
    allocated: u64,
    /// The pages before here are faulted in (or were, and are let go).
    populated: u64,
    /// Where the pages still mapped begin: those before it were written and let go.
    released: u64,
}

// SAFETY: the mapping is owned by one `FileSpool`, used under `&mut self` only, and unmapped
// once, on drop; the memory it points at is shared with the kernel, not with other threads.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `file` (whose valid data ends at `len`) for appends up to `capacity` bytes, or
    /// `None` if the file system cannot preallocate (appends then use `pwrite`). What the
    /// file holds past `len` (a recycled segment's earlier records) is overwritten in place.
    pub fn new(file: &File, len: u64, capacity: u64) -> io::Result<Option<Mapping>> {
        if !writes_in_place(file) {
            return Ok(None);
        }
        let existing = file.metadata()?.len();
        let page = page_size();
        let capacity = capacity.max(len).div_ceil(page) * page;
        let Ok(capacity_usize) = usize::try_from(capacity) else {
            return Ok(None);
        };
        if capacity_usize == 0 {
            return Ok(None);
        }
        // SAFETY: a fresh mapping chosen by the kernel (no address given) of an open file
        // descriptor; the result is checked before use.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                capacity_usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // What lies before `len` is the segment's data: the zeros go after it.
        let mut mapping = Mapping {
            base: base.cast(),
            capacity: capacity_usize,
            allocated: existing.max(len),
            populated: len,
            released: 0,
        };
        match mapping.prepare(file, len) {
            Ok(()) => Ok(Some(mapping)),
            Err(e) if unsupported(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `records` (whole encoded records, one after the other) at `offset`, extending
    /// the file first if needed. `Ok(false)` if they do not fit the mapping: the caller
    /// writes them another way.
    pub fn store(&mut self, file: &File, offset: u64, records: &[u8]) -> io::Result<bool> {
        let end = offset + records.len() as u64;
        if end > self.capacity as u64 {
            return Ok(false);
        }
        if end > self.populated {
            self.release_before(offset);
            self.prepare(file, end)?;
        }
        let mut at = 0;
        while at < records.len() {
            let len = record_len(&records[at..]);
            self.copy(offset + at as u64, &records[at..at + len]);
            // The next record's stores may not be moved before this one's.
            std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
            at += len;
        }
        Ok(true)
    }

    /// Copies `bytes` to `offset`, which the caller checked lies within the allocated mapping.
    fn copy(&mut self, offset: u64, bytes: &[u8]) {
        debug_assert!(offset + bytes.len() as u64 <= self.populated.min(self.allocated));
        // SAFETY: `offset..offset + len` lies within the mapping and within the file's
        // allocated blocks (checked by `store`, which prepared them), and `bytes` is not
        // inside the mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(offset as usize), bytes.len());
        }
    }

    /// Makes the file's blocks exist and its pages mapped up to at least `end`, a chunk past
    /// it, within the mapping: zeros are written where the file has no blocks yet.
    ///
    /// Written, not `fallocate`d: the write reserves the blocks as surely (ext4 and XFS
    /// reserve delayed allocations at the write, tmpfs allocates its pages), and leaves
    /// written pages in the page cache. A store into a fallocated, unwritten extent costs the
    /// file system a journalled change per page at the first store; profiled, that was most
    /// of an append of 64 bytes.
    fn prepare(&mut self, file: &File, end: u64) -> io::Result<()> {
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        let target = (end + CHUNK).min(self.capacity as u64).max(end);
        let mut at = self.allocated;
        while at < target {
            let n = (target - at).min(ZEROS.len() as u64) as usize;
            file.write_all_at(&ZEROS[..n], at)?;
            at += n as u64;
        }
        self.allocated = self.allocated.max(target);
        if target > self.populated {
            self.populate(self.populated, target);
            self.populated = target;
        }
        Ok(())
    }

    /// Faults in the pages of `from..to` (just allocated) in one call, so that the stores do
    /// not take a page fault each, some 45 of them per fault for 64-byte messages. Where the
    /// kernel cannot (before Linux 5.14), the stores fault them in one by one as before.
    #[cfg(target_os = "linux")]
    fn populate(&self, from: u64, to: u64) {
        let page = page_size();
        let start = from / page * page;
        let Ok(len) = usize::try_from(to - start) else {
            return;
        };
        // SAFETY: `start..to` lies within the mapping (`to` is at most its capacity); the
        // advice only faults pages in, it changes no contents.
        unsafe {
            libc::madvise(
                self.base.add(start as usize).cast(),
                len,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn populate(&self, _: u64, _: u64) {}

    /// Unmaps the pages wholly before `offset`, which no store will touch again; their data
    /// stays in the page cache, dirty until written back.
    ///
    /// Written-back pages that are still mapped must be write-protected first, each with a
    /// TLB flush that interrupts every core running the process: profiled with
    /// `FsyncPolicy::Every(100 ms)`, that was a tenth of the sender's time. Letting go of the
    /// pages a chunk at a time costs one flush per chunk instead of one per page.
    fn release_before(&mut self, offset: u64) {
        let end = offset / page_size() * page_size();
        if end <= self.released {
            return;
        }
        let (Ok(from), Ok(len)) = (
            usize::try_from(self.released),
            usize::try_from(end - self.released),
        ) else {
            return;
        };
        // SAFETY: `from..from + len` lies within the mapping (`end` is at most the append
        // offset, within the capacity); nothing reads the mapping, and the pages of a shared
        // file mapping keep their (dirty) contents in the page cache when unmapped.
        let rc = unsafe { libc::madvise(self.base.add(from).cast(), len, libc::MADV_DONTNEED) };
        if rc == 0 {
            self.released = end;
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once; nothing refers into it.
        unsafe {
            libc::munmap(self.base.cast(), self.capacity);
        }
    }
}

/// Maps the active segment for appends, where the file system allows it. A failure (no
/// address space, no disk room to preallocate) is logged and appends use `pwrite`: the
/// segment file exists by now, and failing here would leave it behind, empty.
pub(super) fn map_active(file: &File, path: &Path, len: u64, segment_size: u64) -> Option<Mapping> {
    Mapping::new(file, len, segment_size).unwrap_or_else(|e| {
        log::warn!(
            "spool {}: appends use pwrite, mapping failed: {e}",
            path.display()
        );
        None
    })
}

/// The length of the record that `bytes` begins with (all of `bytes` if its header says
/// more: the caller passes whole records).
fn record_len(bytes: &[u8]) -> usize {
    let body = bytes.get(..4).map_or(0, |b| {
        u32::from_le_bytes(b.try_into().unwrap_or_default()) as usize
    });
    (super::super::record::HEADER_LEN + body).clamp(1, bytes.len())
}

/// Whether `file` lies on a file system where preallocated blocks are written in place.
#[cfg(target_os = "linux")]
fn writes_in_place(file: &File) -> bool {
    const EXT4: i64 = 0xEF53;
    const XFS: i64 = 0x5846_5342;
    const TMPFS: i64 = 0x0102_1994;
    // SAFETY: fstatfs fills the zeroed struct we pass for an open file descriptor.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::fstatfs(file.as_raw_fd(), &mut stat) };
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between C libraries
    let kind = stat.f_type as i64;
    rc == 0 && matches!(kind, EXT4 | XFS | TMPFS)
}

#[cfg(not(target_os = "linux"))]
fn writes_in_place(_: &File) -> bool {
    false
}

fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL)
    )
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    #[test]
    fn stores_reach_the_file_and_extend_it_ahead() {
        let dir = std::env::temp_dir().join(format!("zocket-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seg");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let Some(mut map) = Mapping::new(&file, 0, 8 << 20).unwrap() else {
            return; // no fallocate here: the spool writes instead
        };
        assert!(map.store(&file, 0, b"hello").unwrap());
        assert!(map.store(&file, 5, b" world").unwrap());
        let mut back = [0u8; 11];
        file.read_exact_at(&mut back, 0).unwrap();
        assert_eq!(&back, b"hello world", "a store is visible to reads of the file");
        let len = file.metadata().unwrap().len();
        assert!(
            (11..=CHUNK + 11).contains(&len),
            "extended a chunk ahead, not to the capacity: {len}"
        );
        assert!(
            map.store(&file, 3 << 20, b"far").unwrap(),
            "extends as the appends go"
        );
        assert_eq!(map.released, 3 << 20, "the pages behind are let go");
        file.read_exact_at(&mut back, 0).unwrap();
        assert_eq!(
            &back, b"hello world",
            "what was stored outlives its pages' release"
        );
        assert!(map.store(&file, (3 << 20) + 3, b"ther").unwrap());
        let mut far = [0u8; 7];
        file.read_exact_at(&mut far, 3 << 20).unwrap();
        assert_eq!(&far, b"farther");
        assert!(
            !map.store(&file, (8 << 20) - 1, b"xy").unwrap(),
            "past the mapping: refused"
        );
        drop(map);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
