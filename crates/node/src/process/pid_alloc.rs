//! Pid allocation with the BEAM's layout.
//!
//! A local pid carries a 28-bit process number split as the BEAM splits it: the low 15 bits are the `id`
//! and the next 13 bits the `serial` (`<node.Id.Serial>`). Numbers are handed out in increasing order and
//! wrap at 2^28, so the serial grows each time the id space is used up and a pid is not reused until the
//! whole 28-bit space has gone round. A number still held by a live process is skipped. Number 0
//! (`<node.0.0>`) is never handed out: it stands for the node itself (see `Node::node_pid`), as `<0.0.0>` is
//! `init` on the BEAM.

/// Bits of the process number that form the id.
pub(crate) const ID_BITS: u32 = 15;
/// Bits of the process number that form the serial.
pub(crate) const SERIAL_BITS: u32 = 13;
/// The number of distinct process numbers.
const NUMBERS: u32 = 1 << (ID_BITS + SERIAL_BITS);

/// The next process number to try.
#[derive(Debug, Default)]
pub(crate) struct PidAlloc {
    next: u32,
}

impl PidAlloc {
    /// The next `(id, serial)` pair in order; the caller skips pairs that are still in use.
    pub(crate) fn next_candidate(&mut self) -> (u32, u32) {
        let number = self.next.max(1);
        self.next = (number + 1) % NUMBERS;
        (number & ((1 << ID_BITS) - 1), number >> ID_BITS)
    }

    /// Starts the sequence at `number` (for tests of the wrap-around).
    #[cfg(test)]
    pub(crate) fn starting_at(number: u32) -> PidAlloc {
        PidAlloc { next: number % NUMBERS }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fill_fifteen_bits_then_the_serial_grows() {
        let mut alloc = PidAlloc::default();
        assert_eq!(alloc.next_candidate(), (1, 0));
        assert_eq!(alloc.next_candidate(), (2, 0));
        let mut alloc = PidAlloc::starting_at(32767);
        assert_eq!(alloc.next_candidate(), (32767, 0));
        assert_eq!(alloc.next_candidate(), (0, 1));
    }

    #[test]
    fn serial_wraps_at_thirteen_bits() {
        let mut alloc = PidAlloc::starting_at(NUMBERS - 1);
        assert_eq!(alloc.next_candidate(), (32767, 8191));
        // Number 0 is the node's own pid: skipped.
        assert_eq!(alloc.next_candidate(), (1, 0));
    }
}
