//! Control messages against a real Erlang node.
//!
//! `erl` builds control tuples of every op from real pids, references, aliases and a real sequential trace
//! token, and prints `term_to_binary/1` of each in hex. For each one, Rust checks that
//! `Control::from_term(Term::decode(bytes))` is the variant it expects and that `to_term().encode()` gives
//! back Erlang's own bytes: the same bytes for a plain op, the bytes of the plain tuple for a `_TT` op.
//!
//! The node runs with a long name on 127.0.0.1 and `-dist_listen false`, so its pids and references carry a
//! real node name and a non-zero creation without any epmd.
//!
//! Without `erl` on `PATH` the test prints "skipped" and passes, unless `CI=true`.

use std::collections::BTreeSet;
use std::process::Command;

use erlnode_dist::control::{Control, ControlError, Proc, SPAWN_REPLY_LINK, SPAWN_REPLY_MONITOR};
use erlnode_etf::{Atom, Pid, Ref, Term};

/// Prints `values <hex>` (the terms the cases are made of), then `case <name> <hex> <hex of the plain
/// tuple>` for each case, then `done`.
const SCRIPT: &str = r#"
Hex = fun(T) -> binary:encode_hex(term_to_binary(T)) end,
P = self(),
Q = spawn(fun() -> receive stop -> ok end end),
GL = group_leader(),
R = make_ref(),
A = alias(),
M = monitor(process, Q),
seq_trace:set_token(label, 17),
Tok = seq_trace:get_token(),
seq_trace:set_token([]),
Reason = {shutdown, #{why => "bye", code => 3}},
Cases = [
    {link, {1, P, Q}},
    {send, {2, '', Q}},
    {exit, {3, P, Q, Reason}},
    {unlink, {4, P, Q}},
    {reg_send, {6, P, '', net_kernel}},
    {group_leader, {7, GL, Q}},
    {exit2, {8, P, Q, kill}},
    {send_tt, {12, '', Q, Tok}, {2, '', Q}},
    {exit_tt, {13, P, Q, Tok, Reason}, {3, P, Q, Reason}},
    {reg_send_tt, {16, P, '', rex, Tok}, {6, P, '', rex}},
    {exit2_tt, {18, P, Q, Tok, kill}, {8, P, Q, kill}},
    {monitor_p, {19, P, Q, M}},
    {monitor_p_name, {19, P, net_kernel, M}},
    {demonitor_p, {20, P, net_kernel, M}},
    {monitor_p_exit, {21, Q, P, M, noproc}},
    {monitor_p_exit_name, {21, net_kernel, P, M, Reason}},
    {send_sender, {22, P, Q}},
    {send_sender_tt, {23, P, Q, Tok}, {22, P, Q}},
    {payload_exit, {24, P, Q}},
    {payload_exit_tt, {25, P, Q, Tok}, {24, P, Q}},
    {payload_exit2, {26, P, Q}},
    {payload_exit2_tt, {27, P, Q, Tok}, {26, P, Q}},
    {payload_monitor_p_exit, {28, net_kernel, P, M}},
    {spawn_request, {29, R, P, GL, {erpc, execute_call, 4}, [monitor]}},
    {spawn_request_link, {29, R, P, GL, {erlang, apply, 2}, [link, {priority, high}]}},
    {spawn_request_tt, {30, R, P, GL, {erpc, execute_call, 4}, [], Tok}, {29, R, P, GL, {erpc, execute_call, 4}, []}},
    {spawn_reply, {31, R, P, 2, Q}},
    {spawn_reply_error, {31, R, P, 0, system_limit}},
    {spawn_reply_tt, {32, R, P, 3, Q, Tok}, {31, R, P, 3, Q}},
    {alias_send, {33, P, A}},
    {alias_send_tt, {34, P, A, Tok}, {33, P, A}},
    {unlink_id, {35, 1, P, Q}},
    {unlink_id_2_31, {35, 1 bsl 31, P, Q}},
    {unlink_id_max, {35, (1 bsl 64) - 1, P, Q}},
    {unlink_id_ack, {36, 1 bsl 40, Q, P}},
    {node_link, {5}},
    {altact_sig_send, {37, 0, P, Q}}
],
io:format("values ~s~n", [Hex({P, Q, GL, R, A, M, Reason})]),
lists:foreach(
    fun({Name, Ctl}) -> io:format("case ~s ~s ~s~n", [Name, Hex(Ctl), Hex(Ctl)]);
       ({Name, Ctl, Plain}) -> io:format("case ~s ~s ~s~n", [Name, Hex(Ctl), Hex(Plain)])
    end,
    Cases),
io:format("done~n").
"#;

/// The terms the Erlang cases are built from.
struct Values {
    p: Pid,
    q: Pid,
    gl: Pid,
    r: Ref,
    a: Ref,
    m: Ref,
    reason: Term,
}

/// What each case must decode to.
fn expected(name: &str, v: &Values) -> Result<Control, ControlError> {
    let (p, q, gl, r, a, m) = (v.p, v.q, v.gl, v.r, v.a, v.m);
    let atom = Atom::new;
    let name_proc = Proc::Name(atom("net_kernel"));
    let control = match name {
        "link" => Control::Link { from: p, to: q },
        "send" | "send_tt" => Control::Send { to: q },
        "exit" | "exit_tt" => Control::Exit { from: p, to: q, reason: v.reason.clone() },
        "unlink" => Control::Unlink { from: p, to: q },
        "reg_send" => Control::RegSend { from: p, to: atom("net_kernel") },
        "reg_send_tt" => Control::RegSend { from: p, to: atom("rex") },
        "group_leader" => Control::GroupLeader { from: gl, to: q },
        "exit2" | "exit2_tt" => Control::Exit2 { from: p, to: q, reason: Term::atom("kill") },
        "monitor_p" => Control::MonitorP { from: p, to: Proc::Pid(q), reference: m },
        "monitor_p_name" => Control::MonitorP { from: p, to: name_proc, reference: m },
        "demonitor_p" => Control::DemonitorP { from: p, to: name_proc, reference: m },
        "monitor_p_exit" => {
            Control::MonitorPExit { from: Proc::Pid(q), to: p, reference: m, reason: Term::atom("noproc") }
        }
        "monitor_p_exit_name" => {
            Control::MonitorPExit { from: name_proc, to: p, reference: m, reason: v.reason.clone() }
        }
        "send_sender" | "send_sender_tt" => Control::SendSender { from: p, to: q },
        "payload_exit" | "payload_exit_tt" => Control::PayloadExit { from: p, to: q },
        "payload_exit2" | "payload_exit2_tt" => Control::PayloadExit2 { from: p, to: q },
        "payload_monitor_p_exit" => Control::PayloadMonitorPExit { from: name_proc, to: p, reference: m },
        "spawn_request" | "spawn_request_tt" => Control::SpawnRequest {
            req_id: r,
            from: p,
            group_leader: gl,
            module: atom("erpc"),
            function: atom("execute_call"),
            arity: 4,
            opts: if name == "spawn_request" { vec![Term::atom("monitor")] } else { vec![] },
        },
        "spawn_request_link" => Control::SpawnRequest {
            req_id: r,
            from: p,
            group_leader: gl,
            module: atom("erlang"),
            function: atom("apply"),
            arity: 2,
            opts: vec![Term::atom("link"), Term::tuple(vec![Term::atom("priority"), Term::atom("high")])],
        },
        "spawn_reply" => Control::SpawnReply { req_id: r, to: p, flags: SPAWN_REPLY_MONITOR, result: Ok(q) },
        "spawn_reply_error" => Control::SpawnReply { req_id: r, to: p, flags: 0, result: Err(atom("system_limit")) },
        "spawn_reply_tt" => {
            Control::SpawnReply { req_id: r, to: p, flags: SPAWN_REPLY_LINK | SPAWN_REPLY_MONITOR, result: Ok(q) }
        }
        "alias_send" | "alias_send_tt" => Control::AliasSend { from: p, alias: a },
        "unlink_id" => Control::UnlinkId { id: 1, from: p, to: q },
        "unlink_id_2_31" => Control::UnlinkId { id: 1 << 31, from: p, to: q },
        "unlink_id_max" => Control::UnlinkId { id: u64::MAX, from: p, to: q },
        "unlink_id_ack" => Control::UnlinkIdAck { id: 1 << 40, from: q, to: p },
        "node_link" => return Err(ControlError::UnknownOp(5)),
        "altact_sig_send" => return Err(ControlError::UnknownOp(37)),
        other => panic!("Erlang printed a case this test does not know: {other}"),
    };
    Ok(control)
}

const CASES: usize = 37;

#[test]
fn control_messages_match_erlang() {
    let test = "control_messages_match_erlang";
    let Some(output) = run_erl(test) else { return };
    let mut lines = output.lines().filter(|l| l.starts_with("values ") || l.starts_with("case ") || *l == "done");

    let values = lines.next().and_then(|l| l.strip_prefix("values ")).expect("erl printed no values line");
    let values = Term::decode(&unhex(values)).expect("decode the values tuple");
    let values = match values.as_tuple() {
        Some([p, q, gl, r, a, m, reason]) => Values {
            p: p.as_pid().expect("P is a pid"),
            q: q.as_pid().expect("Q is a pid"),
            gl: gl.as_pid().expect("GL is a pid"),
            r: *r.as_ref().expect("R is a reference"),
            a: *a.as_ref().expect("A is a reference"),
            m: *m.as_ref().expect("M is a reference"),
            reason: reason.clone(),
        },
        _ => panic!("unexpected values tuple: {values}"),
    };
    assert_ne!(values.p.creation, 0, "the node should be distributed, with a non-zero creation");
    assert_ne!(values.p, values.q);

    let mut failures = Vec::new();
    let mut names = BTreeSet::new();
    let mut done = false;
    for line in lines {
        if line == "done" {
            done = true;
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let [_, name, ctl_hex, plain_hex] = fields[..] else { panic!("malformed line from erl: {line}") };
        assert!(names.insert(name.to_owned()), "case {name} printed twice");
        let (ctl_bytes, plain_bytes) = (unhex(ctl_hex), unhex(plain_hex));
        let ctl = Term::decode(&ctl_bytes).unwrap_or_else(|e| panic!("{name}: decode: {e}"));
        let want = expected(name, &values);
        let got = Control::from_term(&ctl);
        if got != want {
            failures.push(format!("{name}: {ctl}\n    decoded:  {got:?}\n    expected: {want:?}"));
            continue;
        }
        let Ok(control) = got else { continue };
        let ours = control.to_term().encode().unwrap_or_else(|e| panic!("{name}: encode: {e}"));
        if ours != plain_bytes {
            failures.push(format!("{name}: {ctl}\n    ours:   {}\n    erlang: {}", hex(&ours), plain_hex));
        }
        let plain = Term::decode(&plain_bytes).unwrap_or_else(|e| panic!("{name}: decode: {e}"));
        if Control::from_term(&plain).as_ref() != Ok(&control) {
            failures.push(format!("{name}: the plain tuple {plain} decodes differently"));
        }
    }
    assert!(done, "erl did not finish the script; its output:\n{output}");
    assert_eq!(names.len(), CASES, "case count; Erlang printed {names:?}");
    assert!(failures.is_empty(), "{} of {CASES} cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// Runs [`SCRIPT`] in a fresh `erl`; `None` (after saying so) when `erl` is missing, unless `CI=true`.
fn run_erl(test: &str) -> Option<String> {
    let node = format!("control_vs_erlang_{}@127.0.0.1", std::process::id());
    let result = Command::new("erl")
        .args(["-name", &node, "-dist_listen", "false", "-start_epmd", "false", "-noshell"])
        .args(["-eval", SCRIPT, "-s", "init", "stop"])
        .output();
    let output = match result {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: erl not found on PATH, and CI=true");
            }
            eprintln!("{test}: skipped: erl not found");
            return None;
        }
        Err(e) => panic!("{test}: cannot run erl: {e}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "erl failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Some(stdout)
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap_or_else(|e| panic!("bad hex {text}: {e}")))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
