%% The Erlang half of the `vs_erlang` bench (crates/etf/benches/vs_erlang.rs), which compiles and runs it:
%%
%%   erl -noshell -pa Dir -run etf_bench main Dir -s init stop
%%
%% Dir holds cases.txt (one case name a line) and <name>.etf for each, written by the Rust side so both
%% measure the identical term. It prints what it loaded, then serves measurement requests from stdin, one
%% a line, so that the Rust side can interleave its own measurements with these:
%%
%%   run <name> <encode|decode> <seconds>   term_to_binary/1 of the decoded term, or binary_to_term/1 of
%%                                          the file's bytes: a calibrated batch size, a warm-up, then one
%%                                          time-boxed run, in a fresh process (so one case's heap does not
%%                                          tax the next)
%%   quit                                   (or end of input)
%%
%% Output is one machine-readable line per fact:
%%
%%   ETF_BENCH_INFO <key> <value>
%%   ETF_BENCH_CASE <name> <etf bytes> <same|different>   (does term_to_binary reproduce the file?)
%%   ETF_BENCH_READY
%%   ETF_BENCH_RESULT <name> <encode|decode> <ops per second>
%%   ETF_BENCH_ERROR <text>
-module(etf_bench).
-export([main/1]).

main([Dir]) ->
    info(otp_release, erlang:system_info(otp_release)),
    info(emu_flavor, erlang:system_info(emu_flavor)),
    info(schedulers, erlang:system_info(schedulers_online)),
    {ok, Index} = file:read_file(filename:join(Dir, "cases.txt")),
    Names = [binary_to_list(N) || N <- binary:split(Index, <<"\n">>, [global, trim_all])],
    Cases = [load(Dir, Name) || Name <- Names],
    io:format("ETF_BENCH_READY~n"),
    serve(Cases).

info(Key, Value) ->
    io:format("ETF_BENCH_INFO ~p ~p~n", [Key, Value]).

load(Dir, Name) ->
    {ok, Bin} = file:read_file(filename:join(Dir, Name ++ ".etf")),
    Term = binary_to_term(Bin),
    Same = case term_to_binary(Term) =:= Bin of true -> same; false -> different end,
    io:format("ETF_BENCH_CASE ~s ~b ~s~n", [Name, byte_size(Bin), Same]),
    {Name, Bin, Term}.

serve(Cases) ->
    case io:get_line("") of
        Line when is_list(Line) ->
            case string:lexemes(Line, " \n") of
                ["run", Name, Op, Secs] ->
                    run(lists:keyfind(Name, 1, Cases), list_to_atom(Op), parse_number(Secs)),
                    serve(Cases);
                ["quit"] ->
                    ok;
                Other ->
                    io:format("ETF_BENCH_ERROR bad request ~p~n", [Other]),
                    serve(Cases)
            end;
        _EofOrError ->
            ok
    end.

run({Name, Bin, Term}, Op, Secs) when Op =:= encode; Op =:= decode ->
    Arg = case Op of encode -> Term; decode -> Bin end,
    OpsPerSec = measure(Op, Arg, round(Secs * 1.0e9)),
    io:format("ETF_BENCH_RESULT ~s ~s ~.3f~n", [Name, Op, OpsPerSec]);
run(Case, Op, _Secs) ->
    io:format("ETF_BENCH_ERROR cannot run ~p on ~p~n", [Op, Case]).

parse_number(Text) ->
    try list_to_float(Text) catch error:badarg -> float(list_to_integer(Text)) end.

%% One time-boxed run after calibration and a warm-up, in a fresh process.
measure(Op, Arg, Budget) ->
    {Pid, Mon} = spawn_monitor(fun() -> exit({result, measure_here(Op, Arg, Budget)}) end),
    receive
        {'DOWN', Mon, process, Pid, {result, OpsPerSec}} -> OpsPerSec;
        {'DOWN', Mon, process, Pid, Other} -> exit({measure_failed, Op, Other})
    end.

measure_here(Op, Arg, Budget) ->
    Batch = calibrate(Op, Arg, 1, max(Budget div 100, 1000000)),
    _ = run_for(Op, Arg, Batch, Budget div 3),
    run_for(Op, Arg, Batch, Budget).

%% The smallest power-of-two batch that takes at least MinTime nanoseconds, so reading the clock is a
%% negligible part of each batch.
calibrate(Op, Arg, Batch, MinTime) ->
    T0 = erlang:monotonic_time(nanosecond),
    _ = loop(Op, Batch, Arg),
    case erlang:monotonic_time(nanosecond) - T0 of
        Elapsed when Elapsed >= MinTime -> Batch;
        _ -> calibrate(Op, Arg, Batch * 2, MinTime)
    end.

%% Whole batches until Budget nanoseconds have passed; operations per second.
run_for(Op, Arg, Batch, Budget) ->
    Start = erlang:monotonic_time(nanosecond),
    batches(Op, Arg, Batch, Start, Start + Budget, 0).

batches(Op, Arg, Batch, Start, Deadline, Done) ->
    _ = loop(Op, Batch, Arg),
    Now = erlang:monotonic_time(nanosecond),
    case Now >= Deadline of
        true -> (Done + Batch) * 1.0e9 / (Now - Start);
        false -> batches(Op, Arg, Batch, Start, Deadline, Done + Batch)
    end.

loop(encode, N, Term) -> encode_loop(N, Term, none);
loop(decode, N, Bin) -> decode_loop(N, Bin, none).

%% Each result is carried into the next iteration and returned, so the compiler cannot drop the call.
encode_loop(0, _Term, Last) -> Last;
encode_loop(N, Term, _) -> encode_loop(N - 1, Term, term_to_binary(Term)).

decode_loop(0, _Bin, Last) -> Last;
decode_loop(N, Bin, _) -> decode_loop(N - 1, Bin, binary_to_term(Bin)).
