%% Calls a node with every RPC and remote-spawn form Erlang has and prints what came back, with stack
%% locations and pids taken out, so the answers of an Erlang node and an erlnode node can be compared.
-module(rpc_probe).
-export([main/2, probe/1]).

main(Reference, Rust) ->
    wait_pong(Reference),
    wait_pong(Rust),
    io:format("REF ~w~n", [probe(Reference)]),
    io:format("RUST ~w~n", [probe(Rust)]),
    io:format("PROBE DONE~n").

wait_pong(Node) ->
    case net_adm:ping(Node) of
        pong -> ok;
        pang -> timer:sleep(100), wait_pong(Node)
    end.

probe(N) ->
    Me = self(),
    Calls = [
        {call, rpc:call(N, rpc_demo, add, [1, 2])},
        {call_timeout_ok, rpc:call(N, rpc_demo, echo, [[a, {b, <<"c">>}, 1.5]], 5000)},
        {call_throw, rpc:call(N, rpc_demo, throw, [thrown])},
        {call_exit, rpc:call(N, rpc_demo, exit, [bye])},
        {call_error, norm(rpc:call(N, rpc_demo, fail, [oops]))},
        {call_undef, rpc:call(N, rpc_demo, nope, [1])},
        {call_wrong_arity, rpc:call(N, rpc_demo, add, [1])},
        {call_timeout, rpc:call(N, rpc_demo, sleep, [1000], 100)},
        {block_call, rpc:block_call(N, rpc_demo, add, [2, 3])},
        {block_call_throw, rpc:block_call(N, rpc_demo, throw, [thrown])},
        {block_call_error, norm(rpc:block_call(N, rpc_demo, fail, [oops]))},
        {block_call_undef, rpc:block_call(N, rpc_demo, nope, [])},
        {block_call_timeout, rpc:block_call(N, rpc_demo, sleep, [1000], 100)},
        {rex_call, gen_server:call({rex, N}, {call, rpc_demo, add, [5, 5], user})},
        {multicall, rpc:multicall([N], rpc_demo, echo, [hi])},
        {multicall_error, norm(rpc:multicall([N], rpc_demo, fail, [oops]))},
        {erpc_call, erpc:call(N, rpc_demo, add, [3, 4])},
        {erpc_call_timeout_ok, erpc:call(N, rpc_demo, add, [3, 4], 5000)},
        {erpc_throw, caught(fun() -> erpc:call(N, rpc_demo, throw, [x]) end)},
        {erpc_exit, caught(fun() -> erpc:call(N, rpc_demo, exit, [y]) end)},
        {erpc_error, norm(caught(fun() -> erpc:call(N, rpc_demo, fail, [z]) end))},
        {erpc_undef, caught(fun() -> erpc:call(N, rpc_demo, nope, [1, 2]) end)},
        {erpc_timeout, caught(fun() -> erpc:call(N, rpc_demo, sleep, [1000], 100) end)},
        {erpc_call_waits, erpc:call(N, rpc_demo, sleep, [10])},
        {erpc_multicall, norm(erpc:multicall([N], rpc_demo, fail, [w]))},
        {erpc_multicall_ok, erpc:multicall([N, N], rpc_demo, add, [1, 1])}
    ],
    %% Casts: each makes the function send {noted, X} back here.
    Casts = [
        {rpc_cast, rpc:cast(N, rpc_demo, note, [Me, rpc_cast]), noted(rpc_cast)},
        {erpc_cast, erpc:cast(N, rpc_demo, note, [Me, erpc_cast]), noted(erpc_cast)},
        {rex_cast, gen_server:cast({rex, N}, {cast, rpc_demo, note, [Me, rex_cast], user}), noted(rex_cast)}
    ],
    process_flag(trap_exit, true),
    Spawned = spawn(N, rpc_demo, worker, [Me]),
    Up1 = worker_up(Spawned),
    Spawned ! {stop, normal},
    Linked = spawn_link(N, rpc_demo, worker, [Me]),
    Up2 = worker_up(Linked),
    Linked ! {stop, boom},
    LinkExit = receive {'EXIT', Linked, R1} -> R1 after 5000 -> no_exit end,
    {Monitored, MRef} = spawn_monitor(N, rpc_demo, worker, [Me]),
    Up3 = worker_up(Monitored),
    Monitored ! {stop, {shut, down}},
    Down = receive {'DOWN', MRef, process, Monitored, R2} -> R2 after 5000 -> no_down end,
    {Undef, URef} = spawn_monitor(N, rpc_demo, nope, [x]),
    UndefDown = receive {'DOWN', URef, process, Undef, R3} -> R3 after 5000 -> no_down end,
    ReqId = erlang:spawn_request(N, rpc_demo, worker, [Me], [monitor, link]),
    Reply = receive {spawn_reply, ReqId, ok, P4} -> worker_up(P4), P4 ! {stop, done}, ok after 5000 -> no_reply end,
    ReqDown = receive {'DOWN', ReqId, process, _, R4} -> R4 after 5000 -> no_down end,
    ReqExit = receive {'EXIT', _, R5} -> R5 after 5000 -> no_exit end,
    process_flag(trap_exit, false),
    Spawns = [
        {spawn, node(Spawned) =:= N, Up1},
        {spawn_link, Up2, LinkExit},
        {spawn_monitor, Up3, Down},
        {spawn_undef, node(Undef) =:= N, UndefDown},
        {spawn_request, Reply, ReqDown, ReqExit},
        erpc_process(N)
    ],
    Calls ++ Casts ++ Spawns.

%% What erpc:call asks for, by hand: the call's process has a pid of the node called, a new one for
%% each call, and is gone once its DOWN came.
erpc_process(N) ->
    Res = make_ref(),
    Call = fun() ->
        ReqId = erlang:spawn_request(N, erpc, execute_call, [Res, rpc_demo, add, [1, 2]], [monitor]),
        receive
            {spawn_reply, ReqId, ok, Pid} ->
                receive {'DOWN', ReqId, process, Pid, {Res, Class, Value}} -> {Pid, {Class, Value}}
                after 5000 -> {Pid, no_down}
                end
        after 5000 -> {none, no_reply}
        end
    end,
    {Pid1, Result} = Call(),
    {Pid2, _} = Call(),
    {erpc_process, Result, catch node(Pid1) =:= N, catch rpc:call(N, erlang, is_process_alive, [Pid1]), Pid1 =/= Pid2}.

caught(F) ->
    try F() of
        V -> {value, V}
    catch
        Class:Reason -> {Class, Reason}
    end.

noted(X) ->
    receive {noted, X} -> noted after 5000 -> not_noted end.

worker_up(Pid) ->
    receive {worker_up, Pid} -> up after 5000 -> not_up end.

%% Stack frames lose their location ([{file, _}, {line, _}]), which only Erlang code has.
norm({M, F, A, Location}) when is_atom(M), is_atom(F), is_list(Location) -> {M, F, A, []};
norm(T) when is_tuple(T) -> list_to_tuple(norm(tuple_to_list(T)));
norm(L) when is_list(L) -> [norm(X) || X <- L];
norm(X) -> X.
