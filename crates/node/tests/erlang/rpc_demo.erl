%% The Erlang twin of the functions erlnode's RPC tests register in Rust (crates/node/tests/rpc_with_erlang.rs):
%% a reference node runs this module, so every call form can be compared between Erlang and Rust.
-module(rpc_demo).
-export([add/2, echo/1, fail/1, throw/1, exit/1, sleep/1, note/2, worker/1]).

add(A, B) -> A + B.

echo(X) -> X.

fail(Reason) -> erlang:error(Reason).

throw(Value) -> erlang:throw(Value).

exit(Reason) -> erlang:exit(Reason).

sleep(Ms) ->
    timer:sleep(Ms),
    slept.

note(Pid, X) ->
    Pid ! {noted, X},
    ok.

%% A spawnable process: says it is up, then exits with the reason it is sent.
worker(Parent) ->
    Parent ! {worker_up, self()},
    receive
        {stop, Reason} -> erlang:exit(Reason)
    end.
