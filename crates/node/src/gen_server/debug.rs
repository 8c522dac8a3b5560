//! `sys` debugging of a server: `sys:statistics/2`, `sys:log/2`, `sys:trace/2` and `sys:no_debug/1`,
//! with OTP's events: `{in, Msg}` for each message the server takes (system messages aside),
//! `{out, Reply, From, State}` for each reply a callback returns, `{noreply, State}` after any other
//! callback. Events are made only while some debugging is on, so a server that is not debugged pays a
//! test per message.
//!
//! A traced event is written as a log line on this node (`tracing`, info level) rather than to a
//! standard output of Erlang's. `sys:log_to_file/2` and `sys:install/2` are refused with
//! `{error, {not_supported, What}}`: the first would write on this node's disks, the second would run an
//! Erlang fun for every event.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use erlnode_etf::{Pid, Term};

/// The events a log keeps unless told otherwise (`sys:log(S, true)`), as OTP's.
const LOG_SIZE: usize = 10;

/// What kind of event a server makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    /// `{in, Msg}`.
    In,
    /// `{out, Reply, From, State}`.
    Out,
    /// `{noreply, State}`.
    NoReply,
}

/// The debugging a server has been asked for.
#[derive(Debug, Default)]
pub(super) struct Debug {
    trace: bool,
    log: Option<Log>,
    stats: Option<Stats>,
}

#[derive(Debug)]
struct Log {
    size: usize,
    events: VecDeque<Term>,
}

#[derive(Debug)]
struct Stats {
    start: Term,
    /// The server's reductions when statistics began.
    start_reductions: u64,
    messages_in: u64,
    messages_out: u64,
}

impl Debug {
    /// `true` while any debugging is on: only then are events made.
    pub(super) fn is_on(&self) -> bool {
        self.trace || self.log.is_some() || self.stats.is_some()
    }

    /// Records an event of `kind` of the server `who`; `make` builds it (only called while debugging).
    pub(super) fn event(&mut self, who: Pid, kind: Event, make: impl FnOnce() -> Term) {
        if !self.is_on() {
            return;
        }
        if let Some(stats) = &mut self.stats {
            match kind {
                Event::In => stats.messages_in += 1,
                Event::Out => stats.messages_out += 1,
                Event::NoReply => {}
            }
        }
        if !self.trace && self.log.is_none() {
            return;
        }
        let event = make();
        if self.trace {
            tracing::info!(server = %who, %event, "sys trace");
        }
        if let Some(log) = &mut self.log {
            if log.events.len() == log.size {
                log.events.pop_front();
            }
            log.events.push_back(event);
        }
    }

    /// The logged events, oldest first (empty when not logging).
    pub(super) fn logged(&self) -> Vec<Term> {
        self.log.as_ref().map(|log| log.events.iter().cloned().collect()).unwrap_or_default()
    }

    /// Answers `{debug, What}`: `ok`, `{ok, Data}`, or an error, as `sys` expects; `reductions` is the
    /// server's count so far (statistics give the difference since they began).
    pub(super) fn command(&mut self, who: Pid, what: &Term, reductions: u64) -> Term {
        let ok = Term::atom("ok");
        let is = |term: &Term, name: &str| matches!(term, Term::Atom(a) if a.as_str() == name);
        let not_supported = |what: &str| Term::error(Term::tuple(vec![Term::atom("not_supported"), Term::atom(what)]));
        if is(what, "no_debug") {
            *self = Debug::default();
            return ok;
        }
        let Some([Term::Atom(item), arg]) = what.as_tuple() else { return Term::atom("unknown_debug") };
        match (item.as_str(), arg) {
            ("trace", flag) if is(flag, "true") || is(flag, "false") => {
                self.trace = is(flag, "true");
                ok
            }
            ("log", flag) if is(flag, "true") => {
                self.log.get_or_insert_with(|| Log { size: LOG_SIZE, events: VecDeque::new() });
                ok
            }
            ("log", Term::Tuple(parts)) if parts.len() == 2 && is(&parts[0], "true") => match parts[1].as_i64() {
                Some(size) if size >= 1 => {
                    let size = usize::try_from(size).unwrap_or(usize::MAX).min(1 << 16);
                    let log = self.log.get_or_insert_with(|| Log { size, events: VecDeque::new() });
                    log.size = size;
                    while log.events.len() > size {
                        log.events.pop_front();
                    }
                    ok
                }
                _ => Term::atom("unknown_debug"),
            },
            ("log", flag) if is(flag, "false") => {
                self.log = None;
                ok
            }
            ("log", flag) if is(flag, "get") => Term::tuple(vec![ok, Term::list(self.logged())]),
            ("log", flag) if is(flag, "print") => {
                for event in self.logged() {
                    tracing::info!(server = %who, %event, "sys log");
                }
                ok
            }
            ("statistics", flag) if is(flag, "true") => {
                self.stats.get_or_insert_with(|| Stats {
                    start: now(),
                    start_reductions: reductions,
                    messages_in: 0,
                    messages_out: 0,
                });
                ok
            }
            ("statistics", flag) if is(flag, "false") => {
                self.stats = None;
                ok
            }
            ("statistics", flag) if is(flag, "get") => {
                let data = match &self.stats {
                    None => Term::atom("no_statistics"),
                    Some(stats) => {
                        let pair = |key: &str, value: Term| Term::tuple(vec![Term::atom(key), value]);
                        Term::list(vec![
                            pair("start_time", stats.start.clone()),
                            pair("current_time", now()),
                            pair("reductions", Term::from(reductions.saturating_sub(stats.start_reductions))),
                            pair("messages_in", Term::from(stats.messages_in as i64)),
                            pair("messages_out", Term::from(stats.messages_out as i64)),
                        ])
                    }
                };
                Term::tuple(vec![ok, data])
            }
            ("log_to_file", _) => not_supported("log_to_file"),
            ("install", _) => not_supported("install"),
            ("remove", _) => not_supported("remove"),
            _ => Term::atom("unknown_debug"),
        }
    }
}

/// The time now as `erlang:localtime/0` gives it, `{{Year, Month, Day}, {Hour, Minute, Second}}`, in UTC.
fn now() -> Term {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    date_time(secs)
}

/// `{{Y, M, D}, {H, Mi, S}}` for `secs` seconds after 1970-01-01T00:00:00 UTC.
fn date_time(secs: u64) -> Term {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil(days as i64);
    let int = |n: i64| Term::from(n);
    Term::tuple(vec![
        Term::tuple(vec![int(year), int(month), int(day)]),
        Term::tuple(vec![int((rest / 3600) as i64), int((rest % 3600 / 60) as i64), int((rest % 60) as i64)]),
    ])
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (counting in 400-year eras of 146,097 days,
/// with years starting in March so that the leap day comes last).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(59), (1970, 3, 1));
        // 2000-02-29, a leap day of a year divisible by 400.
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(civil(20_793), (2026, 12, 6));
        assert_eq!(date_time(1_796_529_600).to_string(), "{{2026,12,6},{4,0,0}}");
    }

    #[test]
    fn a_log_keeps_the_last_events_and_statistics_count_them() {
        let who = Pid::new(erlnode_etf::Atom::new("d@h"), 1, 0, 1);
        let mut debug = Debug::default();
        assert!(!debug.is_on());
        debug.event(who, Event::In, || panic!("no event is made while not debugging"));
        let parse = |text: &str| text.parse::<Term>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(debug.command(who, &parse("{log, {true, 2}}"), 0), Term::atom("ok"));
        assert_eq!(debug.command(who, &parse("{statistics, true}"), 10), Term::atom("ok"));
        for n in 1..=3 {
            debug.event(who, Event::In, || Term::tuple(vec![Term::atom("in"), Term::from(n)]));
        }
        debug.event(who, Event::Out, || parse("{out, r, p, s}"));
        assert_eq!(debug.command(who, &parse("{log, get}"), 0), parse("{ok, [{in, 3}, {out, r, p, s}]}"));
        let stats = debug.command(who, &parse("{statistics, get}"), 17).to_string();
        assert!(stats.contains("{reductions,7},{messages_in,3},{messages_out,1}"), "{stats}");
        assert_eq!(
            debug.command(who, &parse("{log_to_file, \"f\"}"), 0),
            parse("{error, {not_supported, log_to_file}}")
        );
        assert_eq!(debug.command(who, &parse("no_debug"), 0), Term::atom("ok"));
        assert!(!debug.is_on());
        assert_eq!(debug.command(who, &parse("{statistics, get}"), 0), parse("{ok, no_statistics}"));
    }
}
