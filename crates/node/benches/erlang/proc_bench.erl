%% The Erlang half of the erlnode `vs_erlang` bench (crates/node/benches/vs_erlang.rs), which compiles and
%% runs it:
%%
%%   erl -noshell +P 2000000 -pa Dir -run proc_bench main -s init stop
%%
%% It prints what it runs on, then serves measurement requests from stdin, one a line, so that the Rust side
%% can interleave its own measurements with these. Each runs in a fresh coordinator process:
%%
%%   run send <n>    one process sends the integers 1..n to another, which counts them: the time from the
%%                   sender's spawn until the receiver has them all
%%   run rtt <n>     n request/reply round trips: {self(), I} to an echo server, which replies I
%%   run gen_call <n> n gen_server:call(Server, I) to a gen_server that replies I (this module)
%%   run restart <n> n times: start a one_for_one supervisor (this module), kill its one child and wait
%%                   for the replacement to have started; the kill-to-started times, summed
%%   run spawn <n>   n processes spawned, each waiting in receive: the time of the spawn loop, and the
%%                   growth of erlang:memory(processes) per process (without the spawner's own growth:
%%                   it holds the list of pids); then they are stopped and their end awaited
%%   quit            (or end of input)
%%
%% Output is one machine-readable line per fact:
%%
%%   PROC_BENCH_INFO <key> <value>
%%   PROC_BENCH_READY
%%   PROC_BENCH_RESULT <send|rtt|gen_call|restart> <n> <seconds>
%%   PROC_BENCH_RESULT spawn <n> <seconds> <bytes per process> <process_info memory of one idle process>
%%   PROC_BENCH_ERROR <text>
-module(proc_bench).
-export([main/0]).
-behaviour(gen_server).
-export([init/1, handle_call/3, handle_cast/2, start_worker/1]).

main() ->
    info(otp_release, erlang:system_info(otp_release)),
    info(emu_flavor, erlang:system_info(emu_flavor)),
    info(schedulers, erlang:system_info(schedulers_online)),
    info(process_limit, erlang:system_info(process_limit)),
    io:format("PROC_BENCH_READY~n"),
    serve().

info(Key, Value) ->
    io:format("PROC_BENCH_INFO ~p ~p~n", [Key, Value]).

serve() ->
    case io:get_line("") of
        Line when is_list(Line) ->
            case string:lexemes(Line, " \n") of
                ["run", Case, N] ->
                    run(list_to_atom(Case), list_to_integer(N)),
                    serve();
                ["quit"] ->
                    ok;
                Other ->
                    io:format("PROC_BENCH_ERROR bad request ~p~n", [Other]),
                    serve()
            end;
        _EofOrError ->
            ok
    end.

run(Case, N) when Case =:= send; Case =:= rtt; Case =:= gen_call; Case =:= restart; Case =:= spawn ->
    {Pid, Mon} = spawn_monitor(fun() -> exit({result, measure(Case, N)}) end),
    receive
        {'DOWN', Mon, process, Pid, {result, Fields}} ->
            Text = lists:join(" ", [format(F) || F <- Fields]),
            io:format("PROC_BENCH_RESULT ~s ~b ~s~n", [Case, N, Text]);
        {'DOWN', Mon, process, Pid, Other} ->
            io:format("PROC_BENCH_ERROR ~p failed: ~p~n", [Case, Other])
    end;
run(Case, _N) ->
    io:format("PROC_BENCH_ERROR unknown case ~p~n", [Case]).

format(F) when is_float(F) -> io_lib:format("~.6f", [F]);
format(I) when is_integer(I) -> integer_to_list(I).

now_ns() -> erlang:monotonic_time(nanosecond).

seconds(T0) -> (now_ns() - T0) / 1.0e9.

%% One sender, one receiver, small messages.
measure(send, N) ->
    Self = self(),
    Receiver = spawn(fun() -> count(N, Self) end),
    T0 = now_ns(),
    spawn(fun() -> send_loop(Receiver, 1, N) end),
    receive {counted, Receiver} -> ok end,
    [seconds(T0)];
%% Request/reply between two local processes.
measure(rtt, N) ->
    Server = spawn(fun echo/0),
    T0 = now_ns(),
    call_loop(Server, 1, N),
    Secs = seconds(T0),
    Server ! stop,
    [Secs];
%% gen_server:call to a local gen_server.
measure(gen_call, N) ->
    {ok, Server} = gen_server:start(?MODULE, [], []),
    T0 = now_ns(),
    gen_call_loop(Server, 1, N),
    Secs = seconds(T0),
    gen_server:stop(Server),
    [Secs];
%% A supervisor restarting its crashed child.
%% A supervisor restarting its crashed child: n times a fresh supervisor (so neither side's list of recent
%% restarts grows), its child killed, and the time until the replacement has started, summed. The
%% supervisor's report of each crash is switched off meanwhile (erlnode's Rust side logs through `tracing`,
%% which costs nothing without a subscriber), so both sides do the same work.
measure(restart, N) ->
    #{level := Level} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, none),
    Secs = restart_loop(N, 0),
    ok = logger:set_primary_config(level, Level),
    [Secs / 1.0e9];

%% Spawning idle processes.
measure(spawn, N) ->
    erlang:garbage_collect(),
    Base = erlang:system_info(process_count),
    {memory, Self0} = process_info(self(), memory),
    M0 = erlang:memory(processes),
    T0 = now_ns(),
    Pids = spawn_idle(N, []),
    Secs = seconds(T0),
    M1 = erlang:memory(processes),
    {memory, Self1} = process_info(self(), memory),
    {memory, One} = process_info(hd(Pids), memory),
    PerProcess = ((M1 - M0) - (Self1 - Self0)) div N,
    [P ! stop || P <- Pids],
    wait_count(Base),
    [Secs, PerProcess, One].

restart_loop(0, Total) -> Total;
restart_loop(N, Total) ->
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, self()}),
    Child = receive {started, P} -> P end,
    T0 = now_ns(),
    exit(Child, kill),
    receive {started, _} -> ok end,
    Elapsed = now_ns() - T0,
    unlink(Sup),
    exit(Sup, shutdown),
    restart_loop(N - 1, Total + Elapsed).

count(0, Parent) ->
    Parent ! {counted, self()};
count(N, Parent) ->
    receive _ -> count(N - 1, Parent) end.

send_loop(_To, I, N) when I > N -> ok;
send_loop(To, I, N) ->
    To ! I,
    send_loop(To, I + 1, N).

echo() ->
    receive
        {From, I} ->
            From ! I,
            echo();
        stop ->
            ok
    end.

gen_call_loop(_Server, I, N) when I > N -> ok;
gen_call_loop(Server, I, N) ->
    I = gen_server:call(Server, I),
    gen_call_loop(Server, I + 1, N).

start_worker(Watcher) ->
    gen_server:start_link(?MODULE, {worker, Watcher}, []).

%% One init/1 for the three roles this module plays: the echo gen_server, the restart bench's supervisor
%% and its worker.
init({sup, Watcher}) ->
    Flags = #{strategy => one_for_one, intensity => 1, period => 5},
    Child = #{id => worker, start => {?MODULE, start_worker, [Watcher]}},
    {ok, {Flags, [Child]}};
init({worker, Watcher}) ->
    Watcher ! {started, self()},
    {ok, Watcher};
init([]) -> {ok, none}.
handle_call(I, _From, State) -> {reply, I, State}.
handle_cast(_Message, State) -> {noreply, State}.

call_loop(_Server, I, N) when I > N -> ok;
call_loop(Server, I, N) ->
    Server ! {self(), I},
    receive I -> call_loop(Server, I + 1, N) end.

spawn_idle(0, Acc) -> Acc;
spawn_idle(N, Acc) -> spawn_idle(N - 1, [spawn(fun idle/0) | Acc]).

idle() ->
    receive stop -> ok end.

wait_count(Base) ->
    case erlang:system_info(process_count) > Base of
        true -> timer:sleep(10), wait_count(Base);
        false -> ok
    end.
