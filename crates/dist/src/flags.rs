//! Distribution capability flags (`DFLAG_*`), exchanged in the handshake.
//!
//! Each side offers its flags; the connection runs with the bits both offered. OTP refuses a peer that
//! lacks any bit of its mandatory set with the status `not_allowed`, and so does erlnode. Values are OTP's
//! (`dist.hrl`); `MANDATORY_25_DIGEST` is `0x4000000` (bit 26), not the `1 bsl 36` that some versions of
//! the protocol documentation print.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// A set of distribution flags.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DistFlags(pub u64);

macro_rules! flags {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl DistFlags {
            $($(#[$doc])* pub const $name: DistFlags = DistFlags($value);)*
        }

        /// Every named flag, for display.
        const NAMES: &[(&str, u64)] = &[$((stringify!($name), $value)),*];
    };
}

flags! {
    /// The node is visible (not hidden): it takes part in `nodes()` and global name registration.
    PUBLISHED = 0x1;
    /// The old atom cache (unused since OTP R9; never offered).
    ATOM_CACHE = 0x2;
    /// References with up to 3 (later 5) 32-bit ids.
    EXTENDED_REFERENCES = 0x4;
    /// `MONITOR_P` / `DEMONITOR_P` / `MONITOR_P_EXIT` control messages.
    DIST_MONITOR = 0x8;
    /// Funs as `NEW_FUN_EXT` / `FUN_EXT`.
    FUN_TAGS = 0x10;
    /// Monitors by registered name.
    DIST_MONITOR_NAME = 0x20;
    /// The atom cache also on hidden connections.
    HIDDEN_ATOM_CACHE = 0x40;
    /// `NEW_FUN_EXT`.
    NEW_FUN_TAGS = 0x80;
    /// Pids and ports with full node information.
    EXTENDED_PIDS_PORTS = 0x100;
    /// `EXPORT_EXT`.
    EXPORT_PTR_TAG = 0x200;
    /// `BIT_BINARY_EXT`.
    BIT_BINARIES = 0x400;
    /// `NEW_FLOAT_EXT`.
    NEW_FLOATS = 0x800;
    /// Unicode I/O (unused by the protocol itself).
    UNICODE_IO = 0x1000;
    /// The distribution header with its atom cache (`131, 68, ...`).
    DIST_HDR_ATOM_CACHE = 0x2000;
    /// `SMALL_ATOM_EXT`.
    SMALL_ATOM_TAGS = 0x4000;
    /// UTF-8 atoms.
    UTF8_ATOMS = 0x10000;
    /// `MAP_EXT`.
    MAP_TAG = 0x20000;
    /// 32-bit creations (`NEW_PID_EXT`, `NEWER_REFERENCE_EXT`, `V4_PORT_EXT`).
    BIG_CREATION = 0x40000;
    /// `SEND_SENDER` instead of `SEND`.
    SEND_SENDER = 0x80000;
    /// Sequential trace labels of any term.
    BIG_SEQTRACE_LABELS = 0x100000;
    /// Exit reasons as a payload after the control message (`PAYLOAD_EXIT`, ...).
    EXIT_PAYLOAD = 0x400000;
    /// Fragmented messages.
    FRAGMENTS = 0x800000;
    /// The OTP 23 handshake (`'N'` messages, 32-bit creation in it).
    HANDSHAKE_23 = 0x1000000;
    /// `UNLINK_ID` / `UNLINK_ID_ACK`.
    UNLINK_ID = 0x2000000;
    /// Stands for every flag mandatory in OTP 25.
    MANDATORY_25_DIGEST = 0x4000000;
    /// `SPAWN_REQUEST` / `SPAWN_REPLY`.
    SPAWN = 1 << 32;
    /// Dynamic node names (`named:` status).
    NAME_ME = 2 << 32;
    /// Pids and ports with 64-bit numbers (`V4_PORT_EXT`).
    V4_NC = 4 << 32;
    /// `ALIAS_SEND`.
    ALIAS = 8 << 32;
    /// Alternate-action signals (OTP 28).
    ALTACT_SIG = 0x20 << 32;
}

impl DistFlags {
    /// No flag.
    pub const EMPTY: DistFlags = DistFlags(0);

    /// What OTP 25 requires of a peer.
    pub const MANDATORY_OTP25: DistFlags = DistFlags(
        DistFlags::EXTENDED_REFERENCES.0
            | DistFlags::FUN_TAGS.0
            | DistFlags::NEW_FUN_TAGS.0
            | DistFlags::EXTENDED_PIDS_PORTS.0
            | DistFlags::EXPORT_PTR_TAG.0
            | DistFlags::BIT_BINARIES.0
            | DistFlags::NEW_FLOATS.0
            | DistFlags::UTF8_ATOMS.0
            | DistFlags::MAP_TAG.0
            | DistFlags::BIG_CREATION.0
            | DistFlags::HANDSHAKE_23.0,
    );

    /// What OTP 26, 27 and 28 require of a peer: OTP 25's set plus `V4_NC` and `UNLINK_ID`.
    pub const MANDATORY_OTP26: DistFlags =
        DistFlags(DistFlags::MANDATORY_OTP25.0 | DistFlags::V4_NC.0 | DistFlags::UNLINK_ID.0);

    /// What erlnode requires of a peer: the OTP 25 set, so that OTP 25 nodes connect. (Features beyond it,
    /// such as `SPAWN` or `ALIAS`, are used when the peer offers them.)
    pub const REQUIRED: DistFlags = DistFlags::MANDATORY_OTP25;

    /// What erlnode offers: everything OTP 26+ requires, the extras it implements, and `PUBLISHED` unless
    /// the node is hidden.
    pub fn offered(hidden: bool) -> DistFlags {
        let mut flags = DistFlags::MANDATORY_OTP26
            | DistFlags::MANDATORY_25_DIGEST
            | DistFlags::DIST_MONITOR
            | DistFlags::DIST_MONITOR_NAME
            | DistFlags::SMALL_ATOM_TAGS
            | DistFlags::SEND_SENDER
            | DistFlags::BIG_SEQTRACE_LABELS
            | DistFlags::EXIT_PAYLOAD
            | DistFlags::FRAGMENTS
            | DistFlags::DIST_HDR_ATOM_CACHE
            | DistFlags::SPAWN
            | DistFlags::ALIAS;
        if !hidden {
            flags |= DistFlags::PUBLISHED;
        }
        flags
    }

    /// `true` when every flag of `other` is in `self`.
    pub fn contains(self, other: DistFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags of `required` missing from `self`.
    pub fn missing(self, required: DistFlags) -> DistFlags {
        DistFlags(required.0 & !self.0)
    }

    /// The low 32 bits (what a version 5 `send_name` carries).
    pub fn low(self) -> u32 {
        self.0 as u32
    }

    /// The high 32 bits (what a `complement` carries).
    pub fn high(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The flags from their two halves.
    pub fn from_halves(high: u32, low: u32) -> DistFlags {
        DistFlags((u64::from(high) << 32) | u64::from(low))
    }
}

impl BitOr for DistFlags {
    type Output = DistFlags;
    fn bitor(self, rhs: DistFlags) -> DistFlags {
        DistFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for DistFlags {
    fn bitor_assign(&mut self, rhs: DistFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for DistFlags {
    type Output = DistFlags;
    fn bitand(self, rhs: DistFlags) -> DistFlags {
        DistFlags(self.0 & rhs.0)
    }
}

impl Not for DistFlags {
    type Output = DistFlags;
    fn not(self) -> DistFlags {
        DistFlags(!self.0)
    }
}

impl fmt::Debug for DistFlags {
    /// The flag names joined by `|`, then any unnamed bits in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut first = true;
        for (name, value) in NAMES {
            if self.0 & value == *value && *value != 0 {
                write!(f, "{}{name}", if first { "" } else { "|" })?;
                first = false;
                rest &= !value;
            }
        }
        if rest != 0 || first {
            write!(f, "{}{rest:#x}", if first { "" } else { "|" })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_otp25_set_matches_its_documented_value() {
        // 0x1070F94 with the two atom-cache-free bits: see the distribution reference.
        assert_eq!(DistFlags::MANDATORY_OTP25.0, 0x107_0F94);
        assert_eq!(DistFlags::MANDATORY_25_DIGEST.0, 0x400_0000);
    }

    #[test]
    fn what_we_offer_satisfies_every_otp_release() {
        for required in [DistFlags::MANDATORY_OTP25, DistFlags::MANDATORY_OTP26] {
            assert_eq!(DistFlags::offered(false).missing(required), DistFlags::EMPTY);
            assert_eq!(DistFlags::offered(true).missing(required), DistFlags::EMPTY);
        }
        assert!(DistFlags::offered(false).contains(DistFlags::PUBLISHED));
        assert!(!DistFlags::offered(true).contains(DistFlags::PUBLISHED));
    }

    #[test]
    fn otp26_requires_v4_nc_and_unlink_id_on_top_of_otp25() {
        let extra = DistFlags(DistFlags::MANDATORY_OTP26.0 & !DistFlags::MANDATORY_OTP25.0);
        assert_eq!(extra, DistFlags::V4_NC | DistFlags::UNLINK_ID);
    }

    #[test]
    fn halves_round_trip() {
        let f = DistFlags::offered(false);
        assert_eq!(DistFlags::from_halves(f.high(), f.low()), f);
        assert_eq!(DistFlags::SPAWN.high(), 1);
    }

    #[test]
    fn debug_names_the_flags() {
        assert_eq!(format!("{:?}", DistFlags::PUBLISHED | DistFlags::SPAWN), "PUBLISHED|SPAWN");
        assert_eq!(format!("{:?}", DistFlags(0x8000)), "0x8000");
        assert_eq!(format!("{:?}", DistFlags::EMPTY), "0x0");
    }
}
