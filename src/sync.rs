//! The one door to threads, locks, atomics and unsafe cells for the concurrency primitives
//! (`ypipe`, `mailbox`), so that the same code builds against std and, under `--cfg loom`
//! in tests, against loom's model-checked copies (tokio's `loom` module and crossbeam's
//! `primitive` module do the same).
//!
//! Code that shares memory between threads imports these names from here, never from
//! `std::sync::atomic` or `std::cell`: otherwise the loom build would not see those accesses
//! and could not check them.
//!
//! The std build wraps [`std::cell::UnsafeCell`] to give it loom's closure API (`with` for
//! reads, `with_mut` for writes): loom needs each access to be a call it can observe, and the
//! wrapper compiles to a plain pointer access.

#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(all(test, loom)))]
pub(crate) use std::thread;

#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
#[cfg(all(test, loom))]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(all(test, loom))]
pub(crate) use loom::thread;

#[cfg(all(test, loom))]
pub(crate) use loom::cell::UnsafeCell;

/// [`std::cell::UnsafeCell`] with loom's closure API.
#[cfg(not(all(test, loom)))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(all(test, loom)))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a pointer for reading the value. The caller's safety argument is that no
    /// other thread writes it meanwhile.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a pointer for writing the value. The caller's safety argument is that no
    /// other thread reads or writes it meanwhile.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Aligns `T` to 128 bytes, so that two values written by different threads never share a
/// cache line (128 rather than 64: x86 prefetches lines in pairs, and some ARM cores have
/// 128-byte lines).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for CachePadded<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
