//! Programs on `PATH`, and the CI rule for tests that need them.
//!
//! A test that needs a program it cannot find prints `<test>: skipped: ... not found on PATH` to stderr and
//! passes, so that the suite runs on a machine without Erlang; but when the environment variable `CI` is
//! `true` it panics instead, so that a CI run cannot pass without running the interop tests.

use std::path::{Path, PathBuf};

/// The Erlang/OTP programs the tests drive, found on `PATH`. All three come with every Erlang/OTP
/// installation (Debian's `erlang-base` holds them).
#[derive(Debug, Clone)]
pub struct Erlang {
    /// `erl`, the runtime.
    pub erl: PathBuf,
    /// `erlc`, the compiler.
    pub erlc: PathBuf,
    /// OTP's `epmd`, the port mapper daemon.
    pub epmd: PathBuf,
}

impl Erlang {
    /// The programs' names, in the order of the fields.
    const PROGRAMS: [&'static str; 3] = ["erl", "erlc", "epmd"];

    /// Finds `erl`, `erlc` and `epmd` for the test named `test`, under the CI rule: when one is missing,
    /// panics if `CI=true`, otherwise prints why the test is skipped and returns `None`.
    pub fn find(test: &str) -> Option<Erlang> {
        let [erl, erlc, epmd] = programs(test, Erlang::PROGRAMS)?;
        Some(Erlang { erl, erlc, epmd })
    }

    /// Finds `erl`, `erlc` and `epmd` without the CI rule (for benches, which run without Erlang too); the
    /// error names what is missing.
    pub fn on_path() -> Result<Erlang, String> {
        match search(Erlang::PROGRAMS) {
            Ok([erl, erlc, epmd]) => Ok(Erlang { erl, erlc, epmd }),
            Err(missing) => Err(format!("{} not found on PATH; is Erlang/OTP installed?", listed(&missing))),
        }
    }
}

/// Finds `elixir` for the test named `test`, under the CI rule (see [`programs`]).
pub fn elixir(test: &str) -> Option<PathBuf> {
    let [elixir] = programs(test, ["elixir"])?;
    Some(elixir)
}

/// Finds every program in `names` for the test named `test`. When one is missing: panics if [`ci`],
/// otherwise prints `<test>: skipped: <names> not found on PATH (...)` to stderr and returns `None`.
pub fn programs<const N: usize>(test: &str, names: [&str; N]) -> Option<[PathBuf; N]> {
    let missing = match search(names) {
        Ok(found) => return Some(found),
        Err(missing) => missing,
    };
    let missing_text = listed(&missing);
    if ci() {
        panic!("{test}: {missing_text} not found on PATH, and CI=true requires the interop tests to run");
    }
    let install = if missing.iter().all(|name| *name == "elixir") { "Elixir" } else { "Erlang/OTP" };
    eprintln!("{test}: skipped: {missing_text} not found on PATH (install {install} to run this test)");
    None
}

/// Whether this is a CI run: the environment variable `CI` is `true`.
pub fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The first executable file named `name` on `PATH`.
pub fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

/// Every program in `names` on `PATH`, or the names of those that are not.
fn search<const N: usize>(names: [&str; N]) -> Result<[PathBuf; N], Vec<&str>> {
    let found = names.map(program);
    let missing: Vec<&str> = names.iter().zip(&found).filter(|(_, path)| path.is_none()).map(|(n, _)| *n).collect();
    if missing.is_empty() { Ok(found.map(|path| path.expect("every program was found"))) } else { Err(missing) }
}

/// `a`, `a and b`, `a, b and c`.
fn listed(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_names_as_prose() {
        assert_eq!(listed(&["erl"]), "erl");
        assert_eq!(listed(&["erl", "erlc"]), "erl and erlc");
        assert_eq!(listed(&["erl", "erlc", "epmd"]), "erl, erlc and epmd");
    }

    #[test]
    fn a_program_that_does_not_exist_is_not_found() {
        assert_eq!(program("erltest-no-such-program"), None);
    }
}
