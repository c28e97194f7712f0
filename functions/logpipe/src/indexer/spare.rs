//! The buffer a batch's actions are written into, kept for the next batch.
//!
//! A warm Lambda indexes event after event. Without this, each event's ~5 MB
//! of actions goes into memory the allocator has just taken from the kernel,
//! which maps and zeroes it page by page: a fifth of the CPU of writing the
//! actions. With it, the next event writes over pages already in place.

use std::sync::Mutex;

use bytes::Bytes;

/// Larger buffers (a CLI run over a huge file) are not worth keeping.
const MAX_KEPT_BYTES: usize = 64 << 20;

/// Where the action buffers are kept (a pool of one).
pub(super) static ACTION_BUFFERS: Spare = Spare::new();

pub(super) struct Spare(Mutex<Vec<u8>>);

impl Spare {
    const fn new() -> Self {
        Spare(Mutex::new(Vec::new()))
    }

    /// An empty buffer that can take `bytes` without growing: the one kept
    /// from an earlier batch if there is one.
    pub(super) fn take(&'static self, bytes: usize) -> Vec<u8> {
        let mut buffer = self
            .0
            .lock()
            .map(|mut spare| std::mem::take(&mut *spare))
            .unwrap_or_default();
        buffer.reserve(bytes);
        buffer
    }

    /// `buffer` shared, kept here again when the last share is dropped.
    pub(super) fn share(&'static self, buffer: Vec<u8>) -> Bytes {
        Bytes::from_owner(Returned { buffer, to: self })
    }

    fn keep(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() > MAX_KEPT_BYTES {
            return;
        }
        buffer.clear();
        if let Ok(mut spare) = self.0.lock()
            && spare.capacity() < buffer.capacity()
        {
            *spare = buffer;
        }
    }
}

struct Returned {
    buffer: Vec<u8>,
    to: &'static Spare,
}

impl AsRef<[u8]> for Returned {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Returned {
    fn drop(&mut self) {
        self.to.keep(std::mem::take(&mut self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_is_kept_once_its_last_share_is_dropped() {
        static SPARE: Spare = Spare::new();
        let mut buffer = SPARE.take(1 << 20);
        buffer.extend_from_slice(b"actions");
        let at = buffer.as_ptr();
        let shared = SPARE.share(buffer);
        let slice = shared.slice(0..3);
        drop(shared);
        assert_eq!(&slice[..], b"act", "a share keeps it alive");
        drop(slice);
        let again = SPARE.take(16);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at, "the same memory, written over");
    }
}
