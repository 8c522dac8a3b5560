//! Test support for the erlnode crates: finding real Erlang/OTP and Elixir programs and driving them from
//! tests and benches. A dev-dependency only; nothing here is part of erlnode.
//!
//! - [`find`]: the programs on `PATH`, and the CI rule: a test that cannot find what it needs skips, except
//!   when `CI=true`, where it fails.
//! - [`tempdir`]: unique temporary directories, removed on drop.
//! - [`run`]: programs run to completion with a time bound and captured output; `erlc` and
//!   `erl -noshell -run`.
//! - [`child`]: a long-running program (an `erl` node, an `epmd`) whose output is collected as it comes.
//! - [`node`]: distributed `erl` nodes, free ports and unique names.
//! - [`epmd`]: OTP's `epmd` daemon and its commands (`-names`, `-kill`, ...).
//! - [`serve`]: a compiled module in `erl` that answers requests line by line over stdin and stdout, as the
//!   side-by-side benches use it.
//!
//! Everything waits with a time bound and fails with what the program printed.

pub mod child;
pub mod epmd;
pub mod find;
pub mod node;
pub mod run;
pub mod serve;
pub mod tempdir;

pub use child::Proc;
pub use find::Erlang;
pub use tempdir::TempDir;
