%% The Erlang half of the erlnode `dist_vs_erlang` bench (crates/cli/benches/dist_vs_erlang.rs), which
%% compiles it and runs it on distributed nodes:
%%
%%   erl -noshell -sname NAME -setcookie C -pa Dir -run dist_bench main -s init stop
%%
%% It serves requests from stdin, one a line:
%%
%%   serve              register `sink` and `echo` here (the same protocol as `erlnode demo`'s)
%%   send <node> <n>    {sink, N, self()} then the integers 1..n to {sink, Node}; wait for `done`
%%   call <node> <n>    n gen_server:call({echo, Node}, I) in a row
%%   rpc <node> <n> <m> n rpc:call(Node, M, add, [I, 1]) in a row
%%   quit               (or end of input)
%%
%% and answers each with one line:
%%
%%   DIST_BENCH_OK
%%   DIST_BENCH_RESULT <send|call|rpc> <n> <seconds>
%%   DIST_BENCH_ERROR <text>
-module(dist_bench).
-export([main/0, add/2]).

main() ->
    io:format("DIST_BENCH_OK~n"),
    serve().

serve() ->
    case io:get_line("") of
        Line when is_list(Line) ->
            case string:lexemes(Line, " \n") of
                ["serve"] ->
                    register(sink, spawn(fun sink/0)),
                    register(echo, spawn(fun echo/0)),
                    io:format("DIST_BENCH_OK~n"),
                    serve();
                [Case, Node, N] when Case =:= "send"; Case =:= "call" ->
                    run(list_to_atom(Case), list_to_atom(Node), list_to_integer(N)),
                    serve();
                ["rpc", Node, N, Module] ->
                    run({rpc, list_to_atom(Module)}, list_to_atom(Node), list_to_integer(N)),
                    serve();
                ["quit"] ->
                    ok;
                Other ->
                    io:format("DIST_BENCH_ERROR bad request ~p~n", [Other]),
                    serve()
            end;
        _EofOrError ->
            ok
    end.

run(Case, Node, N) ->
    {Pid, Mon} = spawn_monitor(fun() -> exit({result, measure(Case, Node, N)}) end),
    Name = case Case of {rpc, _} -> rpc; _ -> Case end,
    receive
        {'DOWN', Mon, process, Pid, {result, Secs}} ->
            io:format("DIST_BENCH_RESULT ~s ~b ~.6f~n", [Name, N, Secs]);
        {'DOWN', Mon, process, Pid, Other} ->
            io:format("DIST_BENCH_ERROR ~p failed: ~p~n", [Case, Other])
    end.

now_ns() -> erlang:monotonic_time(nanosecond).

measure(send, Node, N) ->
    T0 = now_ns(),
    {sink, Node} ! {sink, N, self()},
    send_loop({sink, Node}, 1, N),
    receive done -> ok after 60000 -> exit(timeout) end,
    (now_ns() - T0) / 1.0e9;
measure(call, Node, N) ->
    T0 = now_ns(),
    call_loop({echo, Node}, 1, N),
    (now_ns() - T0) / 1.0e9;
measure({rpc, Module}, Node, N) ->
    T0 = now_ns(),
    rpc_loop(Node, Module, 1, N),
    (now_ns() - T0) / 1.0e9.

%% The function the `rpc` case calls on an Erlang node (erlnode demo's is demo:add/2).
add(A, B) -> A + B.

rpc_loop(_Node, _Module, I, N) when I > N -> ok;
rpc_loop(Node, Module, I, N) ->
    Sum = I + 1,
    Sum = rpc:call(Node, Module, add, [I, 1]),
    rpc_loop(Node, Module, I + 1, N).

send_loop(_To, I, N) when I > N -> ok;
send_loop(To, I, N) ->
    To ! I,
    send_loop(To, I + 1, N).

call_loop(_To, I, N) when I > N -> ok;
call_loop(To, I, N) ->
    I = gen_server:call(To, I, 60000),
    call_loop(To, I + 1, N).

sink() ->
    receive
        {sink, N, From} -> count(N), From ! done;
        _ -> ok
    end,
    sink().

count(0) -> ok;
count(N) -> receive _ -> count(N - 1) end.

echo() ->
    receive
        {'$gen_call', From, Request} -> gen_server:reply(From, Request);
        _ -> ok
    end,
    echo().
