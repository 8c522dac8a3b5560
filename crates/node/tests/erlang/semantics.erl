%% Erlang's side of crates/node/tests/erlang_semantics.rs: what real Erlang does, scenario by scenario, for
%% the local process semantics that erlnode implements (links, exit signals, monitors, names, aliases,
%% timers).
%%
%%   erl -noshell -noinput -pa Dir -run semantics main
%%
%% Each scenario runs in a fresh observer process, under a time bound, and records events in order:
%%   {recv, Msg}        a message the observer received (`timeout` when none came in time);
%%   {Op, Result}       what a built-in returned, or {error, Reason} when it raised (no stack trace);
%%   {trap_exit, Old}   what process_flag(trap_exit, _) returned;
%%   {spawn_monitor, Pid, Ref}  a process spawned with a monitor.
%% The Rust test runs the same scenarios in erlnode, recording the same events.
%%
%% Every result is printed as one term per line, `{Scenario, Events}.`, normalized so that the two runs can
%% be compared: each pid becomes {pid, N} and each reference {ref, N}, numbered in order of first appearance
%% within the scenario, and the node's own name becomes the atom `node`. A scenario whose observer crashed
%% prints {Scenario, {crashed, Reason}}, one that did not finish {Scenario, timeout}. The node halts with
%% status 0 when every scenario was run, 2 when the driver itself crashed.
-module(semantics).
-export([main/0]).

%% How long an observer waits for a message it expects.
-define(WAIT, 2000).
%% How long a whole scenario may take.
-define(SCENARIO_TIMEOUT, 10000).

%% The scenarios, in the order they are printed; crates/node/tests/erlang_semantics.rs has the same list.
names() ->
    [link_dead_trapping,
     link_dead_not_trapping,
     link_self,
     link_twice,
     link_then_exit_trapping,
     monitor_dead_pid,
     monitor_unregistered_name,
     monitor_registered_name,
     monitor_name_follows_process,
     monitor_twice,
     exit_normal_not_trapping,
     exit_reason_not_trapping,
     exit_kill_trapping,
     exit_kill_then_is_process_alive,
     exit_reason_to_trapping,
     exit_normal_to_trapping,
     exit_self_normal_trapping,
     exit_self_normal_not_trapping,
     exit_self_kill_trapping,
     linked_chain,
     linked_normal_exit_trapping,
     linked_normal_exit_not_trapping,
     linked_crash_not_trapping,
     linked_own_exit_kill_trapping,
     linked_own_exit_kill_not_trapping,
     linked_killed_trapping,
     unlink_then_exit,
     unlink_after_exit_message,
     register_taken_name,
     register_second_name,
     register_dead_pid,
     register_undefined,
     unregister_unknown,
     unregister_then_register_again,
     whereis_after_exit,
     send_named,
     send_to_dead_pid,
     demonitor_flush_after_down,
     demonitor_after_down,
     demonitor_active,
     demonitor_flush_active,
     alias_then_unalias,
     alias_reply,
     alias_from_another_process,
     unalias_of_another_process,
     spawn_monitor_normal,
     spawn_monitor_exit_reason,
     spawn_monitor_own_exit_kill,
     timer_fires,
     cancel_timer_before_fire,
     timer_to_dead_pid].

%% ---------------------------------------------------------------------------------------------------------
%% The scenarios.

scenario(link_dead_trapping) ->
    trap(true),
    P = dead(),
    call(link, fun() -> link(P) end),
    next();
scenario(link_dead_not_trapping) ->
    P = dead(),
    call(link, fun() -> link(P) end),
    marker();
scenario(link_self) ->
    call(link, fun() -> link(self()) end),
    marker();
scenario(link_twice) ->
    %% Two link calls make one link: one exit message.
    trap(true),
    P = spawn(fun() -> receive go -> exit(bye) end end),
    call(link, fun() -> link(P) end),
    call(link, fun() -> link(P) end),
    P ! go,
    next(),
    marker();
scenario(link_then_exit_trapping) ->
    trap(true),
    P = spawn(fun() -> receive go -> exit(bye) end end),
    call(link, fun() -> link(P) end),
    P ! go,
    next();

scenario(monitor_dead_pid) ->
    P = dead(),
    call(monitor, fun() -> monitor(process, P) end),
    next();
scenario(monitor_unregistered_name) ->
    call(monitor, fun() -> monitor(process, sem_nobody) end),
    next();
scenario(monitor_registered_name) ->
    P = spawn(fun() -> receive go -> exit(bye) end end),
    call(register, fun() -> register(sem_watched, P) end),
    call(monitor, fun() -> monitor(process, sem_watched) end),
    P ! go,
    next(),
    call(whereis, fun() -> whereis(sem_watched) end),
    call(monitor, fun() -> monitor(process, sem_watched) end),
    next();
scenario(monitor_name_follows_process) ->
    %% The monitor follows the process that held the name, and its DOWN still names {Name, Node}.
    P = spawn(fun() -> receive go -> exit(bye) end end),
    call(register, fun() -> register(sem_follow, P) end),
    call(monitor, fun() -> monitor(process, sem_follow) end),
    call(unregister, fun() -> unregister(sem_follow) end),
    P ! go,
    next();
scenario(monitor_twice) ->
    %% Two monitors on one process: two DOWN messages.
    P = spawn(fun() -> receive go -> exit(bye) end end),
    R1 = call(monitor, fun() -> monitor(process, P) end),
    R2 = call(monitor, fun() -> monitor(process, P) end),
    P ! go,
    next_down(R1),
    next_down(R2),
    marker();

scenario(exit_normal_not_trapping) ->
    P = spawn(fun() -> receive stop -> ok end end),
    call(monitor, fun() -> monitor(process, P) end),
    call(exit, fun() -> exit(P, normal) end),
    call(is_process_alive, fun() -> is_process_alive(P) end),
    P ! stop,
    next();
scenario(exit_reason_not_trapping) ->
    P = spawn(fun() -> receive stop -> ok end end),
    call(monitor, fun() -> monitor(process, P) end),
    call(exit, fun() -> exit(P, foo) end),
    next();
scenario(exit_kill_trapping) ->
    Self = self(),
    P = spawn(fun() -> process_flag(trap_exit, true), Self ! ready, receive stop -> ok end end),
    next(),
    call(monitor, fun() -> monitor(process, P) end),
    call(exit, fun() -> exit(P, kill) end),
    next();
scenario(exit_kill_then_is_process_alive) ->
    %% Signals from the caller reach the target before is_process_alive/1 looks at it.
    P = spawn(fun() -> receive stop -> ok end end),
    call(monitor, fun() -> monitor(process, P) end),
    call(exit, fun() -> exit(P, kill) end),
    call(is_process_alive, fun() -> is_process_alive(P) end),
    next();
scenario(exit_reason_to_trapping) ->
    Self = self(),
    P = spawn(fun() ->
                  process_flag(trap_exit, true),
                  Self ! ready,
                  receive M -> Self ! {got, M} end
              end),
    next(),
    call(monitor, fun() -> monitor(process, P) end),
    call(exit, fun() -> exit(P, foo) end),
    next(),
    next();
scenario(exit_normal_to_trapping) ->
    Self = self(),
    P = spawn(fun() ->
                  process_flag(trap_exit, true),
                  Self ! ready,
                  receive M -> Self ! {got, M} end
              end),
    next(),
    call(exit, fun() -> exit(P, normal) end),
    next();
scenario(exit_self_normal_trapping) ->
    trap(true),
    call(exit, fun() -> exit(self(), normal) end),
    next();
scenario(exit_self_normal_not_trapping) ->
    spawn_monitor_event(fun() ->
                            exit(self(), normal),
                            receive stop -> ok after 200 -> exit(still_alive) end
                        end),
    next();
scenario(exit_self_kill_trapping) ->
    spawn_monitor_event(fun() ->
                            process_flag(trap_exit, true),
                            exit(self(), kill),
                            receive stop -> ok after 200 -> exit(still_alive) end
                        end),
    next();

scenario(linked_chain) ->
    %% observer <-> B <-> C; C exits with boom, which kills B, which the observer traps.
    trap(true),
    Self = self(),
    B = spawn_link(fun() ->
                       C = spawn_link(fun() -> receive go -> exit(boom) end end),
                       Self ! {c, C},
                       receive stop -> ok end
                   end),
    {c, C} = next(),
    RB = call(monitor, fun() -> monitor(process, B) end),
    RC = call(monitor, fun() -> monitor(process, C) end),
    C ! go,
    next_down(RC),
    next_exit(B),
    next_down(RB),
    marker();
scenario(linked_normal_exit_trapping) ->
    trap(true),
    P = spawn_link(fun() -> receive go -> ok end end),
    P ! go,
    next();
scenario(linked_normal_exit_not_trapping) ->
    %% M, which does not trap exits, outlives C, its linked child, which ends normally.
    Self = self(),
    {M, _} = spawn_monitor_event(fun() ->
                                     C = spawn_link(fun() -> receive go -> ok end end),
                                     RC = monitor(process, C),
                                     C ! go,
                                     receive {'DOWN', RC, _, _, R} -> Self ! {c_down, C, R} end,
                                     receive stop -> ok end
                                 end),
    next(),
    call(is_process_alive, fun() -> is_process_alive(M) end),
    M ! stop,
    next();
scenario(linked_crash_not_trapping) ->
    spawn_monitor_event(fun() ->
                            spawn_link(fun() -> exit(boom) end),
                            receive stop -> ok end
                        end),
    next();
scenario(linked_own_exit_kill_trapping) ->
    %% A linked process that exits with reason kill: its link carries kill, an ordinary reason.
    trap(true),
    P = spawn_link(fun() -> receive go -> exit(kill) end end),
    P ! go,
    next();
scenario(linked_own_exit_kill_not_trapping) ->
    spawn_monitor_event(fun() ->
                            spawn_link(fun() -> exit(kill) end),
                            receive stop -> ok end
                        end),
    next();
scenario(linked_killed_trapping) ->
    trap(true),
    P = spawn_link(fun() -> receive stop -> ok end end),
    call(exit, fun() -> exit(P, kill) end),
    next();
scenario(unlink_then_exit) ->
    trap(true),
    P = spawn_link(fun() -> receive go -> exit(bye) end end),
    call(monitor, fun() -> monitor(process, P) end),
    call(unlink, fun() -> unlink(P) end),
    P ! go,
    next(),
    marker();
scenario(unlink_after_exit_message) ->
    %% An exit message delivered before unlink stays in the mailbox.
    trap(true),
    P = spawn_link(fun() -> exit(bye) end),
    wait_mailbox(1),
    call(unlink, fun() -> unlink(P) end),
    next();

scenario(register_taken_name) ->
    P1 = spawn(fun() -> receive stop -> ok end end),
    P2 = spawn(fun() -> receive stop -> ok end end),
    call(register, fun() -> register(sem_taken, P1) end),
    call(register, fun() -> register(sem_taken, P2) end),
    call(whereis, fun() -> whereis(sem_taken) end),
    stop([P1, P2]);
scenario(register_second_name) ->
    P = spawn(fun() -> receive stop -> ok end end),
    call(register, fun() -> register(sem_first, P) end),
    call(register, fun() -> register(sem_second, P) end),
    call(whereis, fun() -> whereis(sem_first) end),
    call(whereis, fun() -> whereis(sem_second) end),
    stop([P]);
scenario(register_dead_pid) ->
    P = dead(),
    call(register, fun() -> register(sem_dead, P) end),
    call(whereis, fun() -> whereis(sem_dead) end);
scenario(register_undefined) ->
    call(register, fun() -> register(undefined, self()) end),
    call(whereis, fun() -> whereis(undefined) end);
scenario(unregister_unknown) ->
    call(unregister, fun() -> unregister(sem_unknown) end);
scenario(unregister_then_register_again) ->
    P = spawn(fun() -> receive stop -> ok end end),
    call(register, fun() -> register(sem_again, P) end),
    call(unregister, fun() -> unregister(sem_again) end),
    call(whereis, fun() -> whereis(sem_again) end),
    call(register, fun() -> register(sem_again, P) end),
    call(whereis, fun() -> whereis(sem_again) end),
    stop([P]);
scenario(whereis_after_exit) ->
    P = spawn(fun() -> receive stop -> ok end end),
    call(register, fun() -> register(sem_gone, P) end),
    call(monitor, fun() -> monitor(process, P) end),
    P ! stop,
    next(),
    call(whereis, fun() -> whereis(sem_gone) end),
    call(register, fun() -> register(sem_gone, self()) end),
    call(whereis, fun() -> whereis(sem_gone) end);
scenario(send_named) ->
    call(send, fun() -> sem_nobody ! hello end),
    call(register, fun() -> register(sem_me, self()) end),
    call(send, fun() -> sem_me ! hello end),
    next();
scenario(send_to_dead_pid) ->
    P = dead(),
    call(send, fun() -> P ! hello end),
    marker();

scenario(demonitor_flush_after_down) ->
    {_, R} = spawn_monitor_event(fun() -> exit(gone) end),
    wait_mailbox(1),
    call(demonitor, fun() -> demonitor(R, [flush, info]) end),
    marker();
scenario(demonitor_after_down) ->
    {_, R} = spawn_monitor_event(fun() -> exit(gone) end),
    wait_mailbox(1),
    call(demonitor, fun() -> demonitor(R, [info]) end),
    next();
scenario(demonitor_active) ->
    P = spawn(fun() -> receive go -> exit(bye) end end),
    R = call(monitor, fun() -> monitor(process, P) end),
    call(demonitor, fun() -> demonitor(R, [info]) end),
    call(demonitor, fun() -> demonitor(R, [info]) end),
    call(monitor, fun() -> monitor(process, P) end),
    P ! go,
    next(),
    marker();
scenario(demonitor_flush_active) ->
    P = spawn(fun() -> receive go -> exit(bye) end end),
    R = call(monitor, fun() -> monitor(process, P) end),
    call(demonitor, fun() -> demonitor(R, [flush, info]) end),
    call(monitor, fun() -> monitor(process, P) end),
    P ! go,
    next(),
    marker();

scenario(alias_then_unalias) ->
    A = call(alias, fun() -> alias() end),
    A ! hello,
    next(),
    call(unalias, fun() -> unalias(A) end),
    A ! dropped,
    marker(),
    call(unalias, fun() -> unalias(A) end);
scenario(alias_reply) ->
    A = call(alias, fun() -> alias([reply]) end),
    A ! one,
    A ! two,
    next(),
    marker(),
    call(unalias, fun() -> unalias(A) end);
scenario(alias_from_another_process) ->
    A = call(alias, fun() -> alias() end),
    spawn(fun() -> A ! {via_alias, self()} end),
    next();
scenario(unalias_of_another_process) ->
    %% Only the process that made an alias can deactivate it.
    Self = self(),
    P = spawn(fun() -> A = alias(), Self ! {alias, A}, receive M -> exit({got, M}) end end),
    {alias, A} = next(),
    call(monitor, fun() -> monitor(process, P) end),
    call(unalias, fun() -> unalias(A) end),
    A ! hello,
    next();

scenario(spawn_monitor_normal) ->
    spawn_monitor_event(fun() -> ok end),
    next();
scenario(spawn_monitor_exit_reason) ->
    spawn_monitor_event(fun() -> exit({shutdown, done}) end),
    next();
scenario(spawn_monitor_own_exit_kill) ->
    spawn_monitor_event(fun() -> exit(kill) end),
    next();

scenario(timer_fires) ->
    T = call(send_after, fun() -> erlang:send_after(10, self(), tick) end),
    next(),
    call(cancel_timer, fun() -> erlang:cancel_timer(T) end);
scenario(cancel_timer_before_fire) ->
    T = call(send_after, fun() -> erlang:send_after(20, self(), cancelled) end),
    call(cancel_timer_had_time_left, fun() -> is_integer(erlang:cancel_timer(T)) end),
    call(cancel_timer, fun() -> erlang:cancel_timer(T) end),
    call(read_timer, fun() -> erlang:read_timer(T) end),
    %% A later timer: had the cancelled one fired, its message would come first.
    erlang:send_after(60, self(), later),
    next();
scenario(timer_to_dead_pid) ->
    P = dead(),
    T = call(send_after, fun() -> erlang:send_after(10, P, never) end),
    call(cancel_timer, fun() -> erlang:cancel_timer(T) end),
    call(read_timer, fun() -> erlang:read_timer(T) end).

%% ---------------------------------------------------------------------------------------------------------
%% What the scenarios record with.

%% Records an event.
event(E) ->
    put(events, [E | get(events)]),
    ok.

%% Records {Tag, Result} for the built-in call F, or {Tag, {error, Reason}} when it raises; returns the
%% result.
call(Tag, F) ->
    Result = try F() catch error:Reason -> {error, Reason} end,
    event({Tag, Result}),
    Result.

%% Sets trap_exit, recording the old value.
trap(Flag) ->
    event({trap_exit, process_flag(trap_exit, Flag)}).

%% The next message, recorded.
next() ->
    receive M -> event({recv, M}), M after ?WAIT -> event({recv, timeout}), timeout end.

%% The next DOWN of monitor R, recorded.
next_down(R) ->
    receive {'DOWN', R, _, _, _} = M -> event({recv, M}), M after ?WAIT -> event({recv, timeout}), timeout end.

%% The next {'EXIT', P, _}, recorded.
next_exit(P) ->
    receive {'EXIT', P, _} = M -> event({recv, M}), M after ?WAIT -> event({recv, timeout}), timeout end.

%% Sends itself `marker` and records the next message: `marker` when nothing else was in the mailbox.
marker() ->
    self() ! marker,
    next().

%% Spawns F with a monitor, recording {spawn_monitor, Pid, Ref}.
spawn_monitor_event(F) ->
    {P, R} = spawn_monitor(F),
    event({spawn_monitor, P, R}),
    {P, R}.

%% A process that has ended: spawned with a monitor, its DOWN received and recorded.
dead() ->
    {P, R} = spawn_monitor(fun() -> ok end),
    next_down(R),
    P.

%% Waits until the mailbox holds at least N messages.
wait_mailbox(N) ->
    case process_info(self(), message_queue_len) of
        {message_queue_len, Len} when Len >= N -> ok;
        _ -> receive after 1 -> wait_mailbox(N) end
    end.

%% Ends the processes Ps and waits for their ends, recording nothing.
stop(Ps) ->
    lists:foreach(fun(P) ->
                      R = monitor(process, P),
                      exit(P, kill),
                      receive {'DOWN', R, _, _, _} -> ok end
                  end,
                  Ps).

%% ---------------------------------------------------------------------------------------------------------
%% Running and printing.

main() ->
    Status =
        try
            lists:foreach(fun(Name) -> io:format("~w.~n", [{Name, normalize(run(Name))}]) end, names()),
            0
        catch
            Class:Reason ->
                io:format(standard_error, "semantics: driver crashed: ~p:~p~n", [Class, Reason]),
                2
        end,
    erlang:halt(Status).

%% Runs one scenario in a fresh observer: its events, {crashed, Reason} or timeout.
run(Name) ->
    Parent = self(),
    {Pid, Ref} =
        spawn_monitor(fun() ->
                          put(events, []),
                          Outcome =
                              try scenario(Name) of
                                  _ -> lists:reverse(get(events))
                              catch
                                  _:Reason -> {crashed, Reason}
                              end,
                          Parent ! {self(), Outcome}
                      end),
    receive
        {Pid, Outcome} ->
            receive {'DOWN', Ref, _, _, _} -> ok end,
            Outcome;
        {'DOWN', Ref, _, _, Reason} ->
            {crashed, Reason}
    after ?SCENARIO_TIMEOUT ->
        exit(Pid, kill),
        receive {'DOWN', Ref, _, _, _} -> ok end,
        timeout
    end.

%% T with pids, references and the node's name replaced (see the top of the file).
normalize(T) ->
    {Normal, _} = normalize(T, #{}),
    Normal.

normalize(T, Seen) when is_pid(T) -> number(pid, T, Seen);
normalize(T, Seen) when is_reference(T) -> number(ref, T, Seen);
normalize(T, Seen) when T =:= node() -> {node, Seen};
normalize(T, Seen) when is_tuple(T) ->
    {Elements, Seen1} = normalize(tuple_to_list(T), Seen),
    {list_to_tuple(Elements), Seen1};
normalize([H | T], Seen) ->
    {H1, Seen1} = normalize(H, Seen),
    {T1, Seen2} = normalize(T, Seen1),
    {[H1 | T1], Seen2};
normalize(T, Seen) ->
    {T, Seen}.

number(Kind, T, Seen) ->
    case Seen of
        #{T := N} ->
            {{Kind, N}, Seen};
        #{} ->
            N = maps:get({count, Kind}, Seen, 0) + 1,
            {{Kind, N}, Seen#{T => N, {count, Kind} => N}}
    end.
