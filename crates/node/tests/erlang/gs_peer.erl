%% An Erlang gen_server for erlnode's gen_server tests (crates/node/tests/gen_server_with_erlang.rs):
%% Rust calls it, casts to it, times out on it and sees it die mid-call.
-module(gs_peer).
-behaviour(gen_server).
-export([start/0, start/1, init/1, handle_call/3, handle_cast/2, handle_info/2]).

start() ->
    start(gs_peer).

start(Name) ->
    {ok, Pid} = gen_server:start({local, Name}, ?MODULE, [], []),
    Pid.

init([]) ->
    {ok, 0}.

handle_call({echo, Term}, _From, Casts) ->
    {reply, Term, Casts};
handle_call(whoami, _From, Casts) ->
    {reply, self(), Casts};
handle_call(casts, _From, Casts) ->
    {reply, Casts, Casts};
handle_call({sleep, Ms}, _From, Casts) ->
    timer:sleep(Ms),
    {reply, slept, Casts};
handle_call({die, Reason}, _From, Casts) ->
    {stop, Reason, Casts};
handle_call({later, Ms}, From, Casts) ->
    erlang:send_after(Ms, self(), {answer, From}),
    {noreply, Casts}.

handle_cast({add, N}, Casts) ->
    {noreply, Casts + N}.

handle_info({answer, From}, Casts) ->
    gen_server:reply(From, answered_later),
    {noreply, Casts}.
